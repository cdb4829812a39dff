import crypto from 'node:crypto';
import {
  type AppCall,
  type AssistantContext,
  type ConversationEvent,
  isParleyError,
  type Message,
  ParleyError,
  type TurnError,
  toStorableText,
} from '@parley/protocol';
import { applyEvent, type ConversationState, type EventStream, type ParleyClient } from '@parley/sdk';
import { z } from 'zod';
import { buildPrompt } from '../context/build-prompt.js';
import { LOAD_LIMITS, loadContext, type RecentMessages, updateSummary } from '../context/load-context.js';
import { needsSummary } from '../context/summary.js';
import { decide } from '../policy/decide.js';
import { callOf } from '../policy/calls.js';
import { ModelDecisionSchema } from '../policy/model.js';
import { isQuietRequest } from '../policy/quiet.js';
import type { AskModel, Decision, PolicyMember, PolicyMessage } from '../policy/types.js';
import type { AnyChatTool } from '../providers/chat-model.js';
import { classifyTurn } from '../providers/model-choice.js';
import { loadAppTools } from './app-tools.js';
import type { LoadModelsResult } from '../providers/models.js';
import { toProviderError } from '../providers/provider-error.js';

export interface WorkerEnvironment {
  readonly client: ParleyClient;
  readonly stream: EventStream;
  readonly assistantUserId: string;
  readonly models: LoadModelsResult;
  readonly now: () => number;
  readonly budget: number;
  readonly log: (level: 'info' | 'warn' | 'error', message: string, detail?: unknown) => void;
}

/** Messages kept in memory per conversation for turn-taking: a bounded window. */
const HISTORY_WINDOW = 40;
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
/** Whole messages kept current from the live events: the first page of every answer's prompt. */
const RECENT_WINDOW = LOAD_LIMITS.firstPageSize;
/**
 * A shared conversation's context is read again after this long even without an event (a
 * member's display name or age changes without one). A one-to-one context is read for every
 * answer: its owner edits memories and instructions without an event.
 */
const CONTEXT_MAX_AGE_MS = 30_000;

interface Turn {
  id: string;
  triggerId: string;
  triggerAuthorId: string;
  abort: AbortController;
  done: Promise<void>;
  /** Set when the server ended the turn (a member stopped it): nothing more is sent. */
  endedByServer: boolean;
}

function toPolicyMessage(message: Message, assistantUserId: string, triggers: Map<string, string>, history: readonly PolicyMessage[]): PolicyMessage {
  const repliedTo = message.replyToId === null ? undefined : history.find((candidate) => candidate.id === message.replyToId);
  return {
    id: message.id,
    authorId: message.authorId,
    text: message.text,
    replyToId: message.replyToId,
    ...(repliedTo ? { replyToAuthorId: repliedTo.authorId } : {}),
    mentions: message.mentions,
    createdAt: message.createdAt,
    byAssistant: message.authorId === assistantUserId,
    triggerId: message.turn ? (triggers.get(message.turn.id) ?? null) : null,
    deleted: message.deletedAt !== null,
  };
}

function policyMembers(context: AssistantContext): PolicyMember[] {
  return context.members.map((member) => ({
    userId: member.userId,
    username: member.user.username,
    displayName: member.user.displayName,
    kind: member.user.kind,
  }));
}

/** At most RECENT_WINDOW messages, the oldest dropped (then older messages exist). */
function trimmed(state: ConversationState, hasOlder: boolean): { state: ConversationState; hasOlder: boolean } {
  const excess = state.messages.length - RECENT_WINDOW;
  if (excess <= 0) return { state, hasOlder };
  return { state: { ...state, messages: state.messages.slice(excess) }, hasOlder: true };
}

/**
 * The assistant in one conversation: keeps a window of recent messages, decides after each
 * human message (policy/SPEC.md), and streams at most one answer at a time. A new human message
 * during an answer is taken into account: if it is addressed to the assistant or comes from the
 * person it is answering, the answer is cancelled and the new message reconsidered; otherwise the
 * answer finishes first.
 */
export class ConversationWorker {
  readonly conversationId: string;
  readonly #env: WorkerEnvironment;
  #history: PolicyMessage[] | undefined;
  #context: AssistantContext | undefined;
  #contextReadAt = 0;
  /** The newest messages as the server would list them, kept with the SDK's reducer. */
  #recent: { state: ConversationState; hasOlder: boolean } | undefined;
  #recentLoading: Promise<void> | undefined;
  /** Events that came while the recent messages were being read: applied once they arrive. */
  #recentBuffer: ConversationEvent[] | undefined;
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
  }

  /** Applies one event of the conversation, in order. */
  onEvent(event: ConversationEvent): void {
    this.#applyToRecent(event);
    if (event.type === 'app-call-updated' && event.call.status !== 'pending' && event.call.status !== 'running') {
      this.#callWaiters.get(event.call.id)?.(event.call);
    }
    switch (event.type) {
      case 'message-created': {
        const message = event.message;
        if (this.#history) this.#remember(message);
        if (message.authorId === this.#env.assistantUserId) return;
        // A message written long before its event (copied into a new group by "start a group") is
        // history, not something said now: the assistant never answers it.
        if (Date.parse(event.at) - Date.parse(message.createdAt) > STALE_MESSAGE_MS) return;
        const author = this.#context?.members.find((member) => member.userId === message.authorId);
        if (author?.user.kind === 'bot') return;
        if (!this.#take(message.id)) return;
        this.#enqueue(() => this.#consider(message));
        return;
      }
      case 'message-edited':
        this.#history = this.#history?.map((item) => (item.id === event.messageId ? { ...item, text: event.text, mentions: event.mentions } : item));
        return;
      case 'message-deleted':
        this.#history = this.#history?.map((item) => (item.id === event.messageId ? { ...item, text: '', deleted: true } : item));
        return;
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
   * to it is decided on as if it had just come, unless it is older than the catch-up window
   * [RC3]; anything else is not taken up late [RC2]. Either way a decision is recorded.
   */
  catchUp(message: Message, replyToAuthorId: string | null, windowMs: number): void {
    if (!this.#take(message.id)) return;
    this.#enqueue(async () => {
      if (this.#closed) return;
      const context = await this.#loadContext();
      const settings = context.conversation.assistant;
      if (!settings) return;
      const members = policyMembers(context);
      const addressed =
        context.conversation.kind === 'assistant' ||
        replyToAuthorId === this.#env.assistantUserId ||
        callOf({ text: message.text, name: settings.name, mentions: message.mentions, assistantUserId: this.#env.assistantUserId, members }) !== null;
      const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;
      const age = this.#env.now() - Date.parse(message.createdAt);
      if (!addressed) {
        const reason = `said ${minutes(age)} ago while the assistant was away, and not addressed to it: not taken up late`;
        await this.#record(message, { action: 'silent', reason, rule: 'RC2', usedModel: false });
        return;
      }
      if (age > windowMs) {
        const reason = `addressed ${minutes(age)} ago while the assistant was away: older than the catch-up window (${minutes(windowMs)}), so not answered late`;
        await this.#record(message, { action: 'silent', reason, rule: 'RC3', usedModel: false });
        return;
      }
      await this.#consider(message, replyToAuthorId);
    });
  }

  /** Whether the message is new to this worker; remembers it [RC4]. */
  #take(messageId: string): boolean {
    if (this.#taken.has(messageId)) return false;
    this.#taken.add(messageId);
    if (this.#taken.size > TAKEN_WINDOW) this.#taken.delete(this.#taken.values().next().value as string);
    return true;
  }

  /**
   * The person who answered the trigger since it was sent, if any: another person's message after
   * it, or a reply to it (as [TT8] reads it) [RC5].
   */
  #answeredBy(trigger: Message): string | undefined {
    const history = this.#history ?? [];
    const members = this.#context?.members ?? [];
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

  #enqueue(task: () => Promise<void>): void {
    this.#queue = this.#queue.then(task).catch((error: unknown) => this.#env.log('error', `conversation ${this.conversationId}`, error));
  }

  #remember(message: Message): void {
    if (!this.#history) return;
    if (this.#history.some((item) => item.id === message.id)) return;
    // In time order: a message from the backlog may be older than what came live [RC1].
    const later = this.#history.findIndex((item) => item.createdAt > message.createdAt);
    const item = toPolicyMessage(message, this.#env.assistantUserId, this.#triggers, this.#history);
    if (later === -1) this.#history.push(item);
    else this.#history.splice(later, 0, item);
    if (this.#history.length > HISTORY_WINDOW) this.#history.splice(0, this.#history.length - HISTORY_WINDOW);
  }

  #markHandled(messageId: string): void {
    this.#handled.push(messageId);
    if (this.#handled.length > HANDLED_WINDOW) this.#handled.splice(0, this.#handled.length - HANDLED_WINDOW);
  }

  async #loadHistory(): Promise<PolicyMessage[]> {
    if (this.#history) return this.#history;
    const page = await this.#env.client.api.listMessages({ params: { conversationId: this.conversationId }, query: { limit: HISTORY_WINDOW } });
    const history: PolicyMessage[] = [];
    for (const message of page.messages) history.push(toPolicyMessage(message, this.#env.assistantUserId, this.#triggers, history));
    this.#history = history;
    return history;
  }

  async #loadContext(): Promise<AssistantContext> {
    if (this.#context && this.#env.now() - this.#contextReadAt < CONTEXT_MAX_AGE_MS) return this.#context;
    const readAt = this.#env.now();
    this.#context = await this.#env.client.api.getAssistantContext({ params: { conversationId: this.conversationId } });
    this.#contextReadAt = readAt;
    return this.#context;
  }

  #applyToRecent(event: ConversationEvent): void {
    if (this.#recentBuffer) this.#recentBuffer.push(event);
    else if (this.#recent) this.#recent = trimmed(applyEvent(this.#recent.state, event), this.#recent.hasOlder);
  }

  /** The newest messages, read once and then kept current from the events. */
  async #loadRecent(context: AssistantContext): Promise<RecentMessages> {
    if (!this.#recent) {
      this.#recentLoading ??= (async () => {
        this.#recentBuffer = [];
        try {
          const page = await this.#env.client.api.listMessages({ params: { conversationId: this.conversationId }, query: { limit: RECENT_WINDOW } });
          let state: ConversationState = { conversation: context.conversation, members: [], messages: page.messages, apps: [], appCalls: [] };
          for (const event of this.#recentBuffer) state = applyEvent(state, event);
          this.#recent = trimmed(state, page.nextBefore !== null);
        } finally {
          this.#recentBuffer = undefined;
          this.#recentLoading = undefined;
        }
      })();
      await this.#recentLoading;
    }
    const recent = this.#recent;
    if (!recent) throw new Error('the recent messages could not be read');
    return { messages: recent.state.messages, hasOlder: recent.hasOlder };
  }

  /** `replyToAuthorId`: whom it replies to, when known beyond the window (a message from the backlog). */
  async #consider(message: Message, replyToAuthorId?: string | null): Promise<void> {
    if (this.#closed) return;
    clearTimeout(this.#reconsider);
    const context = await this.#loadContext();
    const settings = context.conversation.assistant;
    if (!settings) return;
    const history = await this.#loadHistory();
    if (!history.some((item) => item.id === message.id)) this.#remember(message);

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
    }

    const found = history.find((item) => item.id === message.id) ?? toPolicyMessage(message, this.#env.assistantUserId, this.#triggers, history);
    const current = replyToAuthorId && found.replyToAuthorId === undefined ? { ...found, replyToAuthorId } : found;
    const decision = await decide({
      conversationKind: context.conversation.kind,
      settings,
      assistantUserId: this.#env.assistantUserId,
      members,
      message: current,
      history,
      now: this.#env.now(),
      handledMessageIds: this.#handled,
      ...(this.#askModel() ? { askModel: this.#askModel() as AskModel } : {}),
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

  #askModel(): AskModel | undefined {
    const { models } = this.#env;
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

  async #record(message: Message, decision: Omit<Decision, 'rule'> & { rule: string }): Promise<void> {
    const model = decision.usedModel && this.#env.models.status === 'configured' ? this.#env.models.models.fast.modelId : undefined;
    await this.#env.client.api
      .recordDecision({
        params: { conversationId: this.conversationId },
        body: {
          messageId: message.id,
          action: decision.action,
          reason: decision.reason,
          rule: decision.rule,
          ...(decision.action === 'react' && decision.emoji ? { emoji: decision.emoji } : {}),
          ...(model ? { model } : {}),
        },
      })
      .catch((error: unknown) => this.#env.log('warn', 'could not record a decision', error));
  }

  /** A question left to people: think again once the wait is over, unless something newer came. */
  #scheduleReconsider(message: Message, at: number): void {
    const delay = Math.max(0, at - this.#env.now());
    this.#reconsider = setTimeout(() => {
      const newest = this.#history?.at(-1);
      if (newest?.id !== message.id) return;
      this.#enqueue(() => this.#consider(message));
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
    turn.done = this.#answer(turn, trigger, context, unprompted)
      .catch((error: unknown) => this.#env.log('error', 'answer failed', error))
      .finally(() => {
        if (this.#turn === turn) this.#turn = undefined;
      });
  }

  async #answer(turn: Turn, trigger: Message, context: AssistantContext, unprompted: boolean): Promise<void> {
    const { client, models } = this.#env;
    const params = { conversationId: this.conversationId };
    const hard = classifyTurn({ text: trigger.text, attachmentCount: trigger.attachments.length }).hard;
    const model = models.status === 'configured' ? models.models.pick({ hard }) : undefined;
    let started = false;
    /** Starts the turn on the server; false when it was refused, or dropped as answered [RC5]. */
    const start = async (): Promise<boolean> => {
      if (unprompted) {
        const by = this.#answeredBy(trigger);
        if (by) {
          await this.#record(trigger, {
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
        await this.#refused(error, trigger);
        return false;
      }
    };
    if (!unprompted && !(await start())) return;
    const end = (status: 'completed' | 'stopped' | 'failed', text: string, error?: TurnError) => {
      if (turn.endedByServer) return Promise.resolve();
      return client.api
        .endTurn({ params: { ...params, turnId: turn.id }, body: { status, text, ...(error ? { error } : {}) } })
        .then(() => undefined)
        .catch((failure: unknown) => {
          // CONFLICT: a member stopped it first, or the server timed it out; it is over either way.
          if (!(isParleyError(failure) && failure.code === 'CONFLICT')) this.#env.log('warn', 'could not end a turn', failure);
        });
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
      if (!this.#env.stream.sendTurnDelta(this.conversationId, turn.id, delta)) {
        await client.api.appendTurnDelta({ params: { ...params, turnId: turn.id }, body: { text: delta } }).catch(() => undefined);
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
      const current = context.conversation.kind === 'assistant' ? undefined : await this.#loadContext();
      const loaded = await loadContext(client, this.conversationId, {
        budget: this.#env.budget,
        recent: await this.#loadRecent(context),
        ...(current ? { context: current } : {}),
      });
      const prompt = buildPrompt({
        context: loaded.context,
        messages: loaded.messages,
        assistantUserId: this.#env.assistantUserId,
        budget: this.#env.budget,
        people: loaded.people,
      });
      const tools = { ...this.#tools(context), ...(await this.#appTools(turn, async () => started || (await start()))) };
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
      void this.#summarise(loaded, prompt);
    } catch (error) {
      await sending;
      if (!started) {
        // Nothing went out: an unprompted answer that failed before its first token leaves no turn.
        if (!turn.abort.signal.aborted) this.#env.log('warn', 'an unprompted answer failed before its first token', error);
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
          if (current.status !== 'pending' && current.status !== 'running' && this.#callWaiters.get(call.id) === done) done(current);
        })
        .catch(() => undefined);
    });
  }

  /** In a one-to-one chat the model may save what the person asks it to remember; never in a group. */
  #tools(context: AssistantContext): Record<string, AnyChatTool> {
    if (context.conversation.kind !== 'assistant') return {};
    const client = this.#env.client;
    const conversationId = this.conversationId;
    const remember: AnyChatTool = {
      description: 'Save a short fact about the person for later conversations, when they ask you to remember it or it is clearly useful.',
      inputSchema: z.object({ fact: z.string().min(1).max(1000) }),
      execute: async (input: never) => {
        const { fact } = input as { fact: string };
        await client.api.rememberForOwner({ params: { conversationId }, body: { text: toStorableText(fact) } });
        return 'saved';
      },
    };
    return { remember };
  }

  async #refused(error: unknown, trigger: Message): Promise<void> {
    if (!isParleyError(error)) throw error;
    if (error.code === 'RATE_LIMITED') {
      const details = error.details as { notify?: boolean } | undefined;
      if (details?.notify) {
        const minutes = Math.max(1, Math.ceil((error.retryAfter ?? 60) / 60));
        const author = this.#context?.members.find((member) => member.userId === trigger.authorId)?.user.username;
        const who = author ? `@${author}, you have` : 'You have';
        await this.#env.client.api
          .sendMessage({
            params: { conversationId: this.conversationId },
            body: {
              id: crypto.randomBytes(12).toString('base64url'),
              text: `${who} reached the limit of my answers for now. Try again in about ${minutes} minute${minutes === 1 ? '' : 's'}.`,
            },
          })
          .catch((failure: unknown) => this.#env.log('warn', 'could not send the rate-limit notice', failure));
      }
      return;
    }
    if (error.code === 'CONFLICT') return;
    this.#env.log('warn', `could not start a turn: ${error.code}`, error.message);
  }

  /** Folds messages that slid out of the window into the stored summary, with the fast model. */
  async #summarise(loaded: Awaited<ReturnType<typeof loadContext>>, prompt: ReturnType<typeof buildPrompt>): Promise<void> {
    const { models } = this.#env;
    if (models.status !== 'configured') return;
    const range = needsSummary({
      summary: loaded.context.summary,
      firstKeptSeq: prompt.firstKeptSeq,
      hasOlderMessages: loaded.hasOlderMessages || prompt.omittedMessages > 0,
    });
    if (!range) return;
    try {
      const summary = await updateSummary(this.#env.client, this.conversationId, {
        context: loaded.context,
        assistantUserId: this.#env.assistantUserId,
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
      // The held context carries the summary: the next answer uses the new one.
      if (summary && this.#context) this.#context = { ...this.#context, summary };
    } catch (error) {
      this.#env.log('warn', 'could not update the summary', error instanceof ParleyError ? error.message : error);
    }
  }
}
