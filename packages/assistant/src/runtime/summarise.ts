import { type AssistantContext, ParleyError } from '@parley/protocol';
import type { buildPrompt } from '../context/build-prompt.js';
import { type loadContext, updateSummary } from '../context/load-context.js';
import { needsSummary } from '../context/summary.js';
import type { WorkerEnvironment } from './worker-environment.js';

/**
 * Folds messages that slid out of the window into the stored summary, with the fast model.
 * Resolves with the new summary, or undefined when none was needed or it failed (logged).
 */
export async function summariseAfterAnswer(
  env: WorkerEnvironment,
  conversationId: string,
  loaded: Awaited<ReturnType<typeof loadContext>>,
  prompt: ReturnType<typeof buildPrompt>,
): Promise<AssistantContext['summary'] | undefined> {
  const { models } = env;
  if (models.status !== 'configured') return undefined;
  const range = needsSummary({
    summary: loaded.context.summary,
    firstKeptSeq: prompt.firstKeptSeq,
    hasOlderMessages: loaded.hasOlderMessages || prompt.omittedMessages > 0,
  });
  if (!range) return undefined;
  try {
    const summary = await updateSummary(env.client, conversationId, {
      context: loaded.context,
      assistantUserId: env.assistantUserId,
      range,
      people: loaded.people,
      summarizer: async (request) => {
        const previous = request.previousSummary ? `Previous summary:\n${request.previousSummary}\n\n` : '';
        let text = '';
        for await (const part of models.models.fast.stream({
          system: request.instructions,
          messages: [{ role: 'user', content: `${previous}New messages:\n${request.transcript}` }],
        })) {
          if (part.type === 'finish') text = part.text;
        }
        return text;
      },
    });
    return summary ?? undefined;
  } catch (error) {
    env.log('warn', 'could not update the summary', error instanceof ParleyError ? error.message : error);
    return undefined;
  }
}
