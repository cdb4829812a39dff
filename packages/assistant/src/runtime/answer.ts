import crypto from 'node:crypto';
import { type AssistantContext, isParleyError, type Message, type TurnError, toStorableText } from '@parley/protocol';
import { buildPrompt } from '../context/build-prompt.js';
import { loadContext, type RecentMessages } from '../context/load-context.js';
import type { Decision } from '../policy/types.js';
import type { AnyChatTool } from '../providers/chat-model.js';
import { classifyTurn } from '../providers/model-choice.js';
import { toProviderError } from '../providers/provider-error.js';
import { summariseAfterAnswer } from './summarise.js';
import { answerTools } from './tools.js';
import type { WorkerEnvironment } from './worker-environment.js';

export interface Turn {
  id: string;
  triggerId: string;
  triggerAuthorId: string;
  abort: AbortController;
  done: Promise<void>;
  /** Set when the server ended the turn (a member stopped it): nothing more is sent. */
  endedByServer: boolean;
}

/** One answer to stream, and what it needs of its conversation's worker. */
export interface AnswerJob {
  readonly env: WorkerEnvironment;
  readonly conversationId: string;
  readonly turn: Turn;
  readonly trigger: Message;
  readonly context: AssistantContext;
  /** The turn starts only with the first token, once the question is still open [RC5]. */
  readonly unprompted: boolean;
  /** Who answered the trigger meanwhile, if anyone [RC5]. */
  readonly answeredBy: () => string | undefined;
  readonly record: (message: Message, decision: Omit<Decision, 'rule'> & { rule: string }) => Promise<void>;
  /** The shared conversation's context as held for turn-taking (kept current by events). */
  readonly heldContext: () => Promise<AssistantContext>;
  /** The held context if any, without reading it (for the members' names). */
  readonly peekContext: () => AssistantContext | undefined;
  /** The tools of the conversation's apps; a call may first need the turn started. */
  readonly appTools: (ensureStarted: () => Promise<boolean>) => Promise<Record<string, AnyChatTool>>;
  readonly recent: (context: AssistantContext) => Promise<RecentMessages>;
  /** A new summary was saved after the answer. */
  readonly onSummary: (summary: NonNullable<AssistantContext['summary']>) => void;
}

/** The server refused to start the turn: says so to the member when the limit asks it, else logs. */
async function refused(job: AnswerJob, error: unknown): Promise<void> {
  const { env, conversationId, trigger } = job;
  if (!isParleyError(error)) throw error;
  if (error.code === 'RATE_LIMITED') {
    const details = error.details as { notify?: boolean } | undefined;
    if (details?.notify) {
      const minutes = Math.max(1, Math.ceil((error.retryAfter ?? 60) / 60));
      const author = job.peekContext()?.members.find((member) => member.userId === trigger.authorId)?.user.username;
      const who = author ? `@${author}, you have` : 'You have';
      await env.client.api
        .sendMessage({
          params: { conversationId },
          body: {
            id: crypto.randomBytes(12).toString('base64url'),
            text: `${who} reached the limit of my answers for now. Try again in about ${minutes} minute${minutes === 1 ? '' : 's'}.`,
          },
        })
        .catch((failure: unknown) => env.log('warn', 'could not send the rate-limit notice', failure));
    }
    return;
  }
  if (error.code === 'CONFLICT') return;
  env.log('warn', `could not start a turn: ${error.code}`, error.message);
}

/** Builds the prompt, streams the model's answer to the server as a turn, and ends it. */
export async function streamAnswer(job: AnswerJob): Promise<void> {
  const { env, turn, trigger, context, unprompted } = job;
  const { client, models } = env;
  const params = { conversationId: job.conversationId };
  const hard = classifyTurn({ text: trigger.text, attachmentCount: trigger.attachments.length }).hard;
  const model = models.status === 'configured' ? models.models.pick({ hard }) : undefined;
  let started = false;
  /** Starts the turn on the server; false when it was refused, or dropped as answered [RC5]. */
  const start = async (): Promise<boolean> => {
    if (unprompted) {
      const by = job.answeredBy();
      if (by) {
        await job.record(trigger, {
          action: 'silent',
          rule: 'RC5',
          reason: `${by} answered the question before its answer's first word, so the answer was dropped unsent`,
          usedModel: false,
        });
        return false;
      }
    }
    try {
      await client.api.startTurn({ params, body: { id: turn.id, triggerMessageId: trigger.id, ...(model ? { model: model.modelId } : {}) } });
      started = true;
      return true;
    } catch (error) {
      await refused(job, error);
      return false;
    }
  };
  if (!unprompted && !(await start())) return;
  // The socket the turn's deltas went out on: undefined before the first, null once two carried them.
  let deltasOn: number | null | undefined;
  /**
   * Ends the turn on the socket that carried its deltas, so the end comes after them and the answer
   * is the text streamed [AT4]; over HTTP with the whole text when that socket is gone.
   */
  const end = async (status: 'completed' | 'stopped' | 'failed', text: string, error?: TurnError): Promise<void> => {
    if (turn.endedByServer) return;
    const body = { status, ...(error ? { error } : {}) };
    try {
      const onSocket =
        deltasOn === null ? undefined : await env.stream.endTurn(job.conversationId, turn.id, body, deltasOn === undefined ? {} : { connection: deltasOn });
      if (onSocket) return;
      await client.api.endTurn({ params: { ...params, turnId: turn.id }, body: { ...body, text } });
    } catch (failure) {
      // CONFLICT: a member stopped it first, or the server timed it out; it is over either way.
      if (!(isParleyError(failure) && failure.code === 'CONFLICT')) env.log('warn', 'could not end a turn', failure);
    }
  };
  let text = '';
  // Text goes out once per turn of the event loop: the parts read together (a busy process
  // reads several tokens at once) leave as one delta, so a backlog shrinks instead of growing.
  // Sends run one after another, so text over HTTP (no socket) stays in order too.
  let unsent = '';
  let flushScheduled = false;
  let sending: Promise<void> = Promise.resolve();
  const flush = async () => {
    flushScheduled = false;
    const delta = unsent;
    unsent = '';
    if (delta === '' || turn.endedByServer) return;
    const connection = env.stream.connection;
    if (connection !== undefined && env.stream.sendTurnDelta(job.conversationId, turn.id, delta)) {
      deltasOn = deltasOn === undefined || deltasOn === connection ? connection : null;
    } else {
      // A delta lost here is in the whole text that the end then sends over HTTP.
      await client.api.appendTurnDelta({ params: { ...params, turnId: turn.id }, body: { text: delta } }).catch(() => {
        deltasOn = null;
      });
    }
  };
  const send = (part: string) => {
    // The server refuses U+0000 and lone surrogates in text [PB2]; a model may still emit them.
    const delta = toStorableText(part);
    text += delta;
    unsent += delta;
    if (flushScheduled) return;
    flushScheduled = true;
    sending = sending.then(() => new Promise<void>((resolve) => setImmediate(resolve))).then(flush);
  };

  if (models.status !== 'configured') {
    if (!started && !(await start())) return;
    send(models.reply);
    await sending;
    await end('completed', text);
    return;
  }
  try {
    // A shared conversation's context as held for turn-taking (kept current by events); a
    // one-to-one context read again for the owner's latest memories and instructions.
    const current = context.conversation.kind === 'assistant' ? undefined : await job.heldContext();
    const loaded = await loadContext(client, job.conversationId, {
      budget: env.budget,
      recent: await job.recent(context),
      ...(current ? { context: current } : {}),
    });
    const prompt = buildPrompt({
      context: loaded.context,
      messages: loaded.messages,
      assistantUserId: env.assistantUserId,
      budget: env.budget,
      people: loaded.people,
    });
    const tools = { ...answerTools(client, job.conversationId, context), ...(await job.appTools(async () => started || (await start()))) };
    let finishReason: string | undefined;
    for await (const part of models.models.pick({ hard }).stream({
      system: prompt.system,
      messages: prompt.messages,
      abortSignal: turn.abort.signal,
      ...(Object.keys(tools).length > 0 ? { tools } : {}),
    })) {
      if (part.type === 'text' && part.text !== '' && !started && !(await start())) {
        // Dropped before its first token: nothing was sent, no turn exists [RC5].
        turn.abort.abort();
        return;
      }
      if (part.type === 'text') send(part.text);
      if (part.type === 'finish') finishReason = part.finishReason;
    }
    // An unprompted answer with no text at all: starts (and ends empty) as any other would.
    if (!started && (turn.abort.signal.aborted || !(await start()))) return;
    await sending;
    await end(finishReason === 'aborted' || turn.abort.signal.aborted ? 'stopped' : 'completed', text);
    // In the background: the next answer need not wait for it. It logs its own failure.
    void summariseAfterAnswer(env, job.conversationId, loaded, prompt).then((summary) => {
      if (summary) job.onSummary(summary);
    });
  } catch (error) {
    await sending;
    if (!started) {
      // Nothing went out: an unprompted answer that failed before its first token leaves no turn.
      if (!turn.abort.signal.aborted) env.log('warn', 'an unprompted answer failed before its first token', error);
      return;
    }
    if (turn.abort.signal.aborted) {
      await end('stopped', text);
      return;
    }
    const providerError = toProviderError(error, models.models.provider);
    await end('failed', text, providerError.toTurnError());
  }
}
