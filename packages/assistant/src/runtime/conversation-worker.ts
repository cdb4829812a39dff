import crypto from 'node:crypto';
import { type AppCall, type AssistantContext, type ConversationEvent, isAppCallWaiting, type Message } from '@parley/protocol';
import { decide } from '../policy/decide.js';
import { callOf } from '../policy/calls.js';
import { isQuietRequest } from '../policy/quiet.js';
import type { AskModel, Decision } from '../policy/types.js';
import type { AnyChatTool } from '../providers/chat-model.js';
import { streamAnswer, type Turn } from './answer.js';
import { loadAppTools } from './app-tools.js';
import { answeredBy, askModelOf, policyMembers, recordDecision } from './decisions.js';
import { MessageWindow, toPolicyMessage } from './message-window.js';
import type { RequestLimiter } from './request-limiter.js';
import type { WorkerEnvironment } from './worker-environment.js';

export type { WorkerEnvironment } from './worker-environment.js';

/** A message whose event came this much later than it was written is a copy, not news. */
const STALE_MESSAGE_MS = 60_000;
/** Message ids remembered as handled, so the same trigger is never answered twice. */
const HANDLED_WINDOW = 200;
/** Message ids remembered as taken in (live or from the backlog), so none is considered twice [RC4]. */
const TAKEN_WINDOW = 1000;
/**
 * The rules that answer because the assistant was asked: answered even when a person spoke in
 * the meantime. Every other answer is unprompted and dropped when a person answered first [RC6].
 */
const PROMPTED_RULES: ReadonlySet<string> = new Set(['TT3', 'TT4', 'TT5', 'TT11']);
/**
 * A shared conversation's context is read again after this long even without an event (a
 * member's display name or age changes without one). A one-to-one context is read for every
 * answer: its owner edits memories and instructions without an event.
 */
const CONTEXT_MAX_AGE_MS = 30_000;

/**
 * The assistant in one conversation: keeps a window of recent messages (`message-window.ts`),
 * decides after each human message (policy/SPEC.md, `decisions.ts`), and streams at most one
 * answer at a time (`answer.ts`). A new human message during an answer is taken into account: if
 * it is addressed to the assistant or comes from the person it is answering, the answer is
 * cancelled and the new message reconsidered; otherwise the answer finishes first.
 */
export class ConversationWorker {
  readonly conversationId: string;
  readonly #env: WorkerEnvironment;
  readonly #window: MessageWindow;
  #context: AssistantContext | undefined;
  #contextReadAt = 0;
  /** The context as the catch-up reads it, through its limiter: one read for a page's many messages [RC8]. */
  #catchUpContext: Promise<AssistantContext> | undefined;
  readonly #handled: string[] = [];
  readonly #taken = new Set<string>();
  /** Turn id → the message it answered, for the assistant's own messages in the window. */
  readonly #triggers = new Map<string, string>();
  #queue: Promise<void> = Promise.resolve();
  #turn: Turn | undefined;
  #reconsider: NodeJS.Timeout | undefined;
  #closed = false;
  /** Tool calls an answer waits on (for the asker's confirmation, or the app), by call id. */
  readonly #callWaiters = new Map<string, (call: AppCall) => void>();

  constructor(conversationId: string, env: WorkerEnvironment) {
    this.conversationId = conversationId;
    this.#env = env;
    this.#window = new MessageWindow({ client: env.client, conversationId, assistantUserId: env.assistantUserId, triggers: this.#triggers });
  }

  /** Applies one event of the conversation, in order. */
  onEvent(event: ConversationEvent): void {
    this.#window.apply(event);
    if (event.type === 'app-call-updated' && !isAppCallWaiting(event.call.status)) {
      this.#callWaiters.get(event.call.id)?.(event.call);
    }
    switch (event.type) {
      case 'message-created': {
        const message = event.message;
        if (message.authorId === this.#env.assistantUserId) return;
        // A message written long before its event (copied into a new group by "start a group") is
        // history, not something said now: the assistant never answers it.
        if (Date.parse(event.at) - Date.parse(message.createdAt) > STALE_MESSAGE_MS) return;
        const author = this.#context?.members.find((member) => member.userId === message.authorId);
        if (author?.user.kind === 'bot') return;
        if (!this.#take(message.id)) return;
        void this.#enqueue(() => this.#consider(message));
        return;
      }
      case 'conversation-updated':
      case 'member-added':
      case 'member-removed':
      case 'member-left':
      case 'member-updated':
        // Names, settings and members changed: read the context again before the next decision.
        this.#context = undefined;
        return;
      default:
        return;
    }
  }

  /**
   * A person's message from while it was away, read from the backlog [RC1]: what was addressed
   * to it is decided on as if it had just come, in the queue with live messages, unless it is
   * older than the catch-up window [RC3]; anything else is not taken up late [RC2]. Either way a
   * decision is recorded. The silent ones are recorded beside the queue, their requests through
   * the catch-up's limiter, so that live messages never wait for them [RC8] [RC9]. Resolves once
   * the message is handled (its decision recorded, its answer started) [RC7]; never rejects.
   */
  async catchUp(message: Message, replyToAuthorId: string | null, options: { windowMs: number; limiter: RequestLimiter }): Promise<void> {
    if (this.#closed || !this.#take(message.id)) return;
    const { windowMs, limiter } = options;
    try {
      const context = await this.#contextForCatchUp(limiter);
      const settings = context.conversation.assistant;
      if (this.#closed || !settings) return;
      const members = policyMembers(context);
      const addressed =
        context.conversation.kind === 'assistant' ||
        replyToAuthorId === this.#env.assistantUserId ||
        callOf({ text: message.text, name: settings.name, mentions: message.mentions, assistantUserId: this.#env.assistantUserId, members }) !== null;
      const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;
      const age = this.#env.now() - Date.parse(message.createdAt);
      if (!addressed) {
        const reason = `said ${minutes(age)} ago while the assistant was away, and not addressed to it: not taken up late`;
        await limiter.run(() => (this.#closed ? Promise.resolve() : this.#record(message, { action: 'silent', reason, rule: 'RC2', usedModel: false })));
        return;
      }
      if (age > windowMs) {
        const reason = `addressed ${minutes(age)} ago while the assistant was away: older than the catch-up window (${minutes(windowMs)}), so not answered late`;
        await limiter.run(() => (this.#closed ? Promise.resolve() : this.#record(message, { action: 'silent', reason, rule: 'RC3', usedModel: false })));
        return;
      }
      await this.#enqueue(() => this.#consider(message, replyToAuthorId));
    } catch (error) {
      this.#env.log('error', `conversation ${this.conversationId}`, error);
    }
  }

  /** The held context if fresh, else one read through the catch-up's limiter, shared by the messages waiting for it. */
  #contextForCatchUp(limiter: RequestLimiter): Promise<AssistantContext> {
    if (this.#context && this.#env.now() - this.#contextReadAt < CONTEXT_MAX_AGE_MS) return Promise.resolve(this.#context);
    this.#catchUpContext ??= limiter.run(() => this.#loadContext()).finally(() => {
      this.#catchUpContext = undefined;
    });
    return this.#catchUpContext;
  }

  /** Whether the message is new to this worker; remembers it [RC4]. */
  #take(messageId: string): boolean {
    if (this.#taken.has(messageId)) return false;
    this.#taken.add(messageId);
    if (this.#taken.size > TAKEN_WINDOW) this.#taken.delete(this.#taken.values().next().value as string);
    return true;
  }

  #answeredBy(trigger: Message): string | undefined {
    return answeredBy(trigger, this.#window.history(), this.#context?.members ?? []);
  }

  /** The server ended a turn (stopped by a member, or timed out): stop streaming it. */
  onTurnEnded(turnId: string): void {
    if (this.#turn?.id === turnId) {
      this.#turn.endedByServer = true;
      this.#turn.abort.abort();
    }
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#reconsider);
    this.#turn?.abort.abort();
  }

  /** Resolves when everything queued so far, and any answer in flight, is done (for tests and shutdown). */
  async idle(): Promise<void> {
    await this.#queue;
    await this.#turn?.done;
  }

  /** Runs the task after everything queued before it; resolves when it is done (never rejects). */
  #enqueue(task: () => Promise<void>): Promise<void> {
    this.#queue = this.#queue.then(task).catch((error: unknown) => this.#env.log('error', `conversation ${this.conversationId}`, error));
    return this.#queue;
  }

  #markHandled(messageId: string): void {
    this.#handled.push(messageId);
    if (this.#handled.length > HANDLED_WINDOW) this.#handled.splice(0, this.#handled.length - HANDLED_WINDOW);
  }

  async #loadContext(): Promise<AssistantContext> {
    if (this.#context && this.#env.now() - this.#contextReadAt < CONTEXT_MAX_AGE_MS) return this.#context;
    const readAt = this.#env.now();
    this.#context = await this.#env.client.api.getAssistantContext({ params: { conversationId: this.conversationId } });
    this.#contextReadAt = readAt;
    return this.#context;
  }

  #record(message: Message, decision: Omit<Decision, 'rule'> & { rule: string }): Promise<void> {
    return recordDecision(this.#env, this.conversationId, message, decision);
  }

  /** `replyToAuthorId`: whom it replies to, when known beyond the window (a message from the backlog). */
  async #consider(message: Message, replyToAuthorId?: string | null): Promise<void> {
    if (this.#closed) return;
    clearTimeout(this.#reconsider);
    const context = await this.#loadContext();
    const settings = context.conversation.assistant;
    if (!settings) return;
    await this.#window.load(context);
    this.#window.remember(message);
    let history = this.#window.history();

    const members = policyMembers(context);
    const turn = this.#turn;
    if (turn) {
      const addressed =
        callOf({ text: message.text, name: settings.name, mentions: message.mentions, assistantUserId: this.#env.assistantUserId, members }) !== null ||
        history.find((item) => item.id === message.replyToId)?.byAssistant === true;
      if (addressed || message.authorId === turn.triggerAuthorId || isQuietRequest(message.text, settings.name)) {
        // The question changed under the answer, or someone asked it to stop [TT17]: stop it and
        // think again with the new message.
        turn.abort.abort();
      }
      await turn.done;
      // The answer's own message (and any other) came meanwhile.
      history = this.#window.history();
    }

    const found = history.find((item) => item.id === message.id) ?? toPolicyMessage(message, this.#env.assistantUserId, this.#triggers, history);
    const current = replyToAuthorId && found.replyToAuthorId === undefined ? { ...found, replyToAuthorId } : found;
    const askModel = askModelOf(this.#env);
    const decision = await decide({
      conversationKind: context.conversation.kind,
      settings,
      assistantUserId: this.#env.assistantUserId,
      members,
      message: current,
      history,
      now: this.#env.now(),
      handledMessageIds: this.#handled,
      ...(askModel ? { askModel: askModel as AskModel } : {}),
    });
    const prompted = PROMPTED_RULES.has(decision.rule);
    if (decision.action === 'answer' && !prompted) {
      // A person may have answered while the model was deciding: the question is asked again [RC5].
      const by = this.#answeredBy(message);
      if (by) {
        this.#markHandled(message.id);
        await this.#record(message, {
          ...decision,
          action: 'silent',
          rule: 'RC5',
          reason: `${by} answered the question while it was deciding, so it did not speak over them (${decision.rule}: ${decision.reason})`,
        });
        return;
      }
    }
    // Recorded while the answer starts: neither waits for the other (one commit takes both).
    const recorded = this.#record(message, decision);
    if (decision.action === 'silent') {
      if (decision.reconsiderAt !== undefined) this.#scheduleReconsider(message, decision.reconsiderAt);
    } else {
      this.#markHandled(message.id);
      if (decision.action === 'react' && decision.emoji) {
        await this.#env.client.api
          .addReaction({ params: { conversationId: this.conversationId, messageId: message.id, emoji: decision.emoji } })
          .catch((error: unknown) => this.#env.log('warn', 'could not react', error));
      }
      if (decision.action === 'answer') this.#startAnswer(message, context, !prompted);
    }
    await recorded;
  }

  /** A question left to people: think again once the wait is over, unless something newer came. */
  #scheduleReconsider(message: Message, at: number): void {
    const delay = Math.max(0, at - this.#env.now());
    this.#reconsider = setTimeout(() => {
      const newest = this.#window.history().at(-1);
      if (newest?.id !== message.id) return;
      void this.#enqueue(() => this.#consider(message));
    }, delay);
    this.#reconsider.unref?.();
  }

  /** `unprompted`: the turn starts only with the first token, once the question is still open [RC5]. */
  #startAnswer(trigger: Message, context: AssistantContext, unprompted: boolean): void {
    const abort = new AbortController();
    const turn: Turn = {
      id: crypto.randomBytes(12).toString('base64url'),
      triggerId: trigger.id,
      triggerAuthorId: trigger.authorId,
      abort,
      done: Promise.resolve(),
      endedByServer: false,
    };
    this.#triggers.set(turn.id, trigger.id);
    this.#turn = turn;
    turn.done = streamAnswer({
      env: this.#env,
      conversationId: this.conversationId,
      turn,
      trigger,
      context,
      unprompted,
      answeredBy: () => this.#answeredBy(trigger),
      record: (message, decision) => this.#record(message, decision),
      heldContext: () => this.#loadContext(),
      peekContext: () => this.#context,
      appTools: (ensureStarted) => this.#appTools(turn, ensureStarted),
      recent: (held) => this.#window.recent(held),
      onSummary: (summary) => {
        // The held context carries the summary: the next answer uses the new one.
        if (this.#context) this.#context = { ...this.#context, summary };
      },
    })
      .catch((error: unknown) => this.#env.log('error', 'answer failed', error))
      .finally(() => {
        if (this.#turn === turn) this.#turn = undefined;
      });
  }

  /** The tools of the apps switched on here ([RT-AP1]); none when they cannot be read. */
  async #appTools(turn: Turn, ensureStarted: () => Promise<boolean>): Promise<Record<string, AnyChatTool>> {
    try {
      return await loadAppTools({
        client: this.#env.client,
        conversationId: this.conversationId,
        turnId: turn.id,
        ensureStarted,
        settled: (call, signal) => this.#settled(call, signal),
      });
    } catch (error) {
      this.#env.log('warn', 'could not read the apps of a conversation', error);
      return {};
    }
  }

  /** Waits for a call to be decided and run, from the events (read once too, in case it already was) [RT-AP2]. */
  #settled(call: AppCall, signal: AbortSignal): Promise<AppCall> {
    return new Promise<AppCall>((resolve, reject) => {
      const done = (settled: AppCall) => {
        this.#callWaiters.delete(call.id);
        signal.removeEventListener('abort', aborted);
        resolve(settled);
      };
      const aborted = () => {
        this.#callWaiters.delete(call.id);
        reject(signal.reason instanceof Error ? signal.reason : new Error('the answer was stopped'));
      };
      if (signal.aborted) return aborted();
      signal.addEventListener('abort', aborted, { once: true });
      this.#callWaiters.set(call.id, done);
      this.#env.client.api
        .getAppCall({ params: { conversationId: this.conversationId, callId: call.id } })
        .then((current) => {
          if (!isAppCallWaiting(current.status) && this.#callWaiters.get(call.id) === done) done(current);
        })
        .catch(() => undefined);
    });
  }
}
