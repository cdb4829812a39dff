import type { AssistantContext, Message } from '@parley/protocol';
import { ModelDecisionSchema } from '../policy/model.js';
import type { AskModel, Decision, PolicyMember, PolicyMessage } from '../policy/types.js';
import type { WorkerEnvironment } from './worker-environment.js';

export function policyMembers(context: AssistantContext): PolicyMember[] {
  return context.members.map((member) => ({
    userId: member.userId,
    username: member.user.username,
    displayName: member.user.displayName,
    kind: member.user.kind,
  }));
}

/**
 * The person who answered the trigger since it was sent, if any: another person's message after
 * it, or a reply to it (as [TT8] reads it) [RC5].
 */
export function answeredBy(trigger: Message, history: readonly PolicyMessage[], members: AssistantContext['members']): string | undefined {
  const index = history.findIndex((item) => item.id === trigger.id);
  const isPerson = (item: PolicyMessage) =>
    !item.byAssistant && item.authorId !== trigger.authorId && members.find((member) => member.userId === item.authorId)?.user.kind !== 'bot';
  const answer = history.find(
    (item, position) => !item.deleted && item.id !== trigger.id && isPerson(item) && (item.replyToId === trigger.id || (index >= 0 && position > index)),
  );
  if (!answer) return undefined;
  const member = members.find((candidate) => candidate.userId === answer.authorId);
  return member ? `@${member.user.username}` : 'another person';
}

/** The fast model as the policy asks it, when a provider is configured. */
export function askModelOf(env: WorkerEnvironment): AskModel | undefined {
  const { models } = env;
  if (models.status !== 'configured') return undefined;
  return async (prompt, { signal }) => {
    const result = await models.models.fast.decide(ModelDecisionSchema, {
      system: prompt.system,
      messages: [{ role: 'user', content: prompt.prompt }],
      abortSignal: signal,
    });
    return {
      action: result.action,
      confidence: result.confidence,
      reason: result.reason,
      ...(result.emoji ? { emoji: result.emoji } : {}),
    };
  };
}

/** Records a decision on the server; a failure is logged, never thrown. */
export async function recordDecision(
  env: WorkerEnvironment,
  conversationId: string,
  message: Message,
  decision: Omit<Decision, 'rule'> & { rule: string },
): Promise<void> {
  const model = decision.usedModel && env.models.status === 'configured' ? env.models.models.fast.modelId : undefined;
  await env.client.api
    .recordDecision({
      params: { conversationId },
      body: {
        messageId: message.id,
        action: decision.action,
        reason: decision.reason,
        rule: decision.rule,
        ...(decision.action === 'react' && decision.emoji ? { emoji: decision.emoji } : {}),
        ...(model ? { model } : {}),
      },
    })
    .catch((error: unknown) => env.log('warn', 'could not record a decision', error));
}
