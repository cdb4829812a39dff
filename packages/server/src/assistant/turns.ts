import { type AssistantTurn, ParleyError, type TurnEndStatus, type TurnError } from '@parley/protocol';
import type { Kysely, Selectable } from 'kysely';
import type { LimitStore } from '../abuse/limits.js';
import { requireMember } from '../conversations/access.js';
import type { Clock, EventLog } from '../events/event-log.js';
import type { Logger } from '../logger.js';
import { newId } from '../ids/ids.js';
import { parseTurnError } from '../messages/views.js';
import { appendMessages } from '../messages/write.js';
import type { Bus } from '../realtime/bus.js';
import type { LiveTurn, LiveTurns } from '../realtime/live-turns.js';
import type { AssistantTurnsTable, Database } from '../storage/schema.js';
import type { RunOptions } from '../storage/write-queue.js';
import { isUniqueViolation } from '../storage/violations.js';
import { requireBotMember } from './access.js';
import { AssistantRateLimiter } from './rate-limit.js';

export type TurnRow = Selectable<AssistantTurnsTable>;

/** The longest answer, as `endTurn` takes it whole. */
export const MAX_TURN_TEXT = 100_000;
/** The text of a turn in flight is saved at most this often, so a restart keeps what was streamed [AT8]. */
const SAVE_INTERVAL_MS = 500;

const FAILED: TurnError = { code: 'assistant_failed', message: 'the assistant could not finish its answer', retryable: true };
const TIMED_OUT: TurnError = { code: 'assistant_timeout', message: 'the assistant stopped sending its answer', retryable: true };
const INTERRUPTED: TurnError = { code: 'interrupted', message: 'the server restarted while the assistant was answering', retryable: true };

export function toTurn(row: TurnRow, live?: LiveTurn): AssistantTurn {
  // In flight, the text held in memory is ahead of the one saved.
  const text = row.status === 'streaming' && live && live.text.length > row.text.length ? live.text : row.text;
  return {
    id: row.id,
    conversationId: row.conversation_id,
    triggerMessageId: row.trigger_message_id,
    chargedUserId: row.charged_user_id,
    status: row.status,
    model: row.model,
    text,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    messageId: row.message_id,
    error: parseTurnError(row.error),
  };
}

/** How a turn ends: decided inside the write that ends it, from the row as it is then. */
interface Ending {
  status: TurnEndStatus;
  /** The bot's final text; when absent or empty, the text streamed so far. */
  text?: string;
  error: TurnError | null;
  /** The bot (endTurn), a member (stopTurn), or null for the server itself. */
  endedBy: string | null;
}

/** Names of the fields a delta arrived in, for errors: `params.turnId` over HTTP, `frame.turnId` on the socket. */
export interface DeltaFields {
  turnId: string;
  text: string;
}

export interface TurnsOptions {
  log: EventLog;
  reader: Kysely<Database>;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  /** Shared with the node's hub, which keeps it up to date from the bus. */
  live: LiveTurns;
  rateLimit: { burst: number; perHour: number };
  /** Where the assistant limit counts (shared by the nodes of one installation, or this node's). */
  limits: LimitStore;
  /** This node's name: a turn records the node that holds it, and a restart ends only its own [AT8]. */
  nodeId: string;
  /** True on SQLite, where this node is the only one: a restart ends every answer left streaming. */
  soleNode: boolean;
  /** A turn without text for this long ends as failed [AT8]. */
  timeoutMs: number;
  saveIntervalMs?: number;
}

/**
 * The assistant's streamed answers: start, text deltas, end, stop, the watchdog and recovery
 * after a restart. The rules are numbered in SPEC.md beside this file.
 */
export class Turns {
  readonly #limiter: AssistantRateLimiter;
  readonly #nodeId: string;
  readonly #soleNode: boolean;
  readonly #log: EventLog;
  readonly #reader: Kysely<Database>;
  readonly #bus: Bus;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #live: LiveTurns;
  readonly #timeoutMs: number;
  readonly #saveIntervalMs: number;
  readonly #saveTimers = new Map<string, NodeJS.Timeout>();
  /** Turns whose end is being written: their deltas are refused from the moment it is asked [AT5]. */
  readonly #ending = new Set<string>();
  readonly #watchdog: NodeJS.Timeout;
  #sweeping: Promise<void> | undefined;
  #closed = false;

  constructor(options: TurnsOptions) {
    this.#log = options.log;
    this.#reader = options.reader;
    this.#bus = options.bus;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#live = options.live;
    this.#timeoutMs = options.timeoutMs;
    this.#saveIntervalMs = options.saveIntervalMs ?? SAVE_INTERVAL_MS;
    this.#limiter = new AssistantRateLimiter({ ...options.rateLimit, store: options.limits });
    this.#nodeId = options.nodeId;
    this.#soleNode = options.soleNode;
    const every = Math.min(1000, Math.max(10, Math.floor(this.#timeoutMs / 4)));
    this.#watchdog = setInterval(() => void this.sweep(), every);
    this.#watchdog.unref();
  }

  /** [AT1]–[AT2], [AT9]: a bot member starts an answer, charged to the trigger's author. */
  async start(userId: string, conversationId: string, request: { id: string; triggerMessageId?: string | undefined; model?: string | undefined }): Promise<AssistantTurn> {
    await requireBotMember(this.#reader, conversationId, userId);
    const same = (row: TurnRow): AssistantTurn => {
      if (row.conversation_id !== conversationId || row.bot_id !== userId) {
        throw new ParleyError('ID_CONFLICT', 'this turn id is already used; choose a new one', { field: 'body.id' });
      }
      return toTurn(row, this.#live.get(row.id));
    };
    const stored = await this.#reader.selectFrom('assistant_turns').selectAll().where('id', '=', request.id).executeTakeFirst();
    if (stored) return same(stored);
    const outcome = await this.#log.writeTo(conversationId, async (write) => {
      const { db, now } = write;
      await requireBotMember(db, conversationId, userId);
      const raced = await db.selectFrom('assistant_turns').selectAll().where('id', '=', request.id).executeTakeFirst();
      if (raced) return { existing: same(raced) };
      let chargedUserId: string | null = null;
      if (request.triggerMessageId !== undefined) {
        const trigger = await db
          .selectFrom('messages')
          .innerJoin('users', 'users.id', 'messages.author_id')
          .select(['messages.id', 'users.id as authorId', 'users.kind'])
          .where('messages.id', '=', request.triggerMessageId)
          .where('messages.conversation_id', '=', conversationId)
          .executeTakeFirst();
        if (!trigger) throw new ParleyError('NOT_FOUND', 'no such message in this conversation', { field: 'body.triggerMessageId' });
        // Only people are charged: a bot's message costs no member anything.
        if (trigger.kind === 'human') chargedUserId = trigger.authorId;
      }
      // [AT10] One answer per trigger, however many assistant processes saw it: two starts in one
      // conversation collide on the ordinal's unique index, so the second sees the first here.
      if (request.triggerMessageId !== undefined) {
        const answered = await db
          .selectFrom('assistant_turns')
          .select('id')
          .where('bot_id', '=', userId)
          .where('trigger_message_id', '=', request.triggerMessageId)
          .executeTakeFirst();
        if (answered) {
          throw new ParleyError('CONFLICT', 'this message already has an answer of this assistant', {
            details: { turnId: answered.id, reason: 'answered' },
          });
        }
      }
      const inFlight = await db
        .selectFrom('assistant_turns')
        .select('id')
        .where('conversation_id', '=', conversationId)
        .where('status', '=', 'streaming')
        .executeTakeFirst();
      if (inFlight) {
        throw new ParleyError('CONFLICT', 'an answer is already being streamed in this conversation; end or stop it first', {
          details: { turnId: inFlight.id },
        });
      }
      // Charged last, once nothing else can refuse the turn.
      if (chargedUserId !== null) {
        const { wait, notify } = await this.#limiter.take(chargedUserId);
        if (wait > 0) {
          throw new ParleyError('RATE_LIMITED', 'this member has had as many assistant answers as the server allows for now', {
            retryAfter: wait,
            details: { userId: chargedUserId, notify },
          });
        }
      }
      const last = await db
        .selectFrom('assistant_turns')
        .select((eb) => eb.fn.max('ordinal').as('ordinal'))
        .where('conversation_id', '=', conversationId)
        .executeTakeFirst();
      const row: TurnRow = {
        id: request.id,
        conversation_id: conversationId,
        trigger_message_id: request.triggerMessageId ?? null,
        charged_user_id: chargedUserId,
        bot_id: userId,
        status: 'streaming',
        model: request.model ?? null,
        text: '',
        started_at: now,
        ended_at: null,
        message_id: null,
        error: null,
        last_delta_at: now,
        ended_by: null,
        ordinal: Number(last?.ordinal ?? 0) + 1,
        node_id: this.#nodeId,
      };
      try {
        await db.insertInto('assistant_turns').values(row).execute();
      } catch (error) {
        // Another node started one in the same instant: the unique index decided [AT2].
        if (isUniqueViolation(error)) throw new ParleyError('CONFLICT', 'an answer is already being streamed in this conversation');
        throw error;
      }
      write.afterCommit(() => {
        const event = { conversationId, turnId: row.id, userId, triggerMessageId: row.trigger_message_id, triggeredBy: chargedUserId, at: now };
        this.#live.start(event);
        this.#bus.publish({ kind: 'assistant', event: { type: 'assistant-turn-start', ...event } });
      });
      return { created: row };
    });
    return 'existing' in outcome ? outcome.existing : toTurn(outcome.created, this.#live.get(outcome.created.id));
  }

  /** [AT3] `appendTurnDelta`: a bot member adds text to the turn it streams. */
  async appendOverHttp(userId: string, conversationId: string, turnId: string, text: string): Promise<void> {
    await requireBotMember(this.#reader, conversationId, userId);
    await this.append(userId, conversationId, turnId, text, { turnId: 'params.turnId', text: 'body.text' });
  }

  /**
   * Adds text to a turn in flight and publishes it with its offset [AT3]. Synchronous when the
   * node holds the turn (the hot path); reads the turn otherwise, to take it up or to refuse.
   */
  append(userId: string, conversationId: string, turnId: string, text: string, fields: DeltaFields): void | Promise<void> {
    const turn = this.#live.get(turnId);
    if (turn && turn.conversationId === conversationId && !this.#ending.has(turnId)) {
      this.#appendLive(turn, userId, text, fields);
      return;
    }
    return this.#appendCold(userId, conversationId, turnId, text, fields);
  }

  async #appendCold(userId: string, conversationId: string, turnId: string, text: string, fields: DeltaFields): Promise<void> {
    const row = await this.#reader
      .selectFrom('assistant_turns')
      .selectAll()
      .where('id', '=', turnId)
      .where('conversation_id', '=', conversationId)
      .executeTakeFirst();
    if (!row) throw new ParleyError('NOT_FOUND', 'no such turn in this conversation', { field: fields.turnId });
    if (row.bot_id !== userId) throw new ParleyError('FORBIDDEN', 'only the bot streaming this turn may add to it', { field: fields.turnId });
    if (row.status !== 'streaming' || this.#ending.has(turnId)) {
      const status = row.status === 'streaming' ? 'ending' : row.status;
      throw new ParleyError('CONFLICT', `this turn has ended (${status}); nothing more can be added`, {
        field: fields.turnId,
        details: { turnId, status },
      });
    }
    // Streaming but not held here (started through another node): taken up from the saved text.
    const turn =
      this.#live.get(turnId) ??
      this.#live.start(
        { conversationId, turnId, userId: row.bot_id, triggerMessageId: row.trigger_message_id, triggeredBy: row.charged_user_id, at: row.started_at },
        row.text,
      );
    this.#appendLive(turn, userId, text, fields);
  }

  #appendLive(turn: LiveTurn, userId: string, text: string, fields: DeltaFields): void {
    if (turn.botId !== userId) throw new ParleyError('FORBIDDEN', 'only the bot streaming this turn may add to it', { field: fields.turnId });
    if (turn.text.length + text.length > MAX_TURN_TEXT) {
      throw new ParleyError('PAYLOAD_TOO_LARGE', `an answer holds at most ${MAX_TURN_TEXT} characters`, { field: fields.text });
    }
    const offset = this.#live.append(turn, text);
    this.#bus.publish({
      kind: 'assistant',
      event: { type: 'assistant-text-delta', conversationId: turn.conversationId, turnId: turn.turnId, offset, delta: text },
    });
    this.#scheduleSave(turn.turnId);
  }

  /**
   * [AT4] The bot ends its turn over HTTP: the answer becomes a message, in the write that closes
   * the turn. Its text is the one sent, or what was streamed when it sends none.
   */
  async end(
    userId: string,
    conversationId: string,
    turnId: string,
    request: { status: 'completed' | 'stopped' | 'failed'; text: string; error?: TurnError | undefined },
  ): Promise<AssistantTurn> {
    await requireBotMember(this.#reader, conversationId, userId);
    return toTurn(await this.#endByBot(userId, conversationId, turnId, request, 'params.turnId', 'body.error'));
  }

  /**
   * [AT4] The bot ends its turn with the `turn-end` frame, on the socket that carried its deltas:
   * the answer is the text streamed. The socket server checked that the bot is a member.
   */
  async endStreamed(
    userId: string,
    conversationId: string,
    turnId: string,
    request: { status: 'completed' | 'stopped' | 'failed'; error?: TurnError | undefined },
  ): Promise<{ status: TurnEndStatus; messageId: string }> {
    const ended = await this.#endByBot(userId, conversationId, turnId, request, 'frame.turnId', 'frame.error');
    // An ended turn always holds its answer's message: #close writes both in one transaction.
    if (ended.message_id === null) throw new Error(`turn ${turnId} ended without its message`);
    return { status: ended.status as TurnEndStatus, messageId: ended.message_id };
  }

  async #endByBot(
    userId: string,
    conversationId: string,
    turnId: string,
    request: { status: 'completed' | 'stopped' | 'failed'; text?: string; error?: TurnError | undefined },
    turnField: string,
    errorField: string,
  ): Promise<TurnRow> {
    const row = await this.#requireTurn(conversationId, turnId, turnField);
    if (row.bot_id !== userId) throw new ParleyError('FORBIDDEN', 'only the bot streaming this turn may end it', { field: turnField });
    if (request.status === 'completed' && request.error !== undefined) {
      throw new ParleyError('INVALID_INPUT', `${errorField}: a completed answer carries no error`, { field: errorField });
    }
    const error = request.error ?? (request.status === 'failed' ? FAILED : null);
    return this.#close(conversationId, turnId, (current) => {
      if (current.status === 'streaming') return { status: request.status, ...(request.text !== undefined ? { text: request.text } : {}), error, endedBy: userId };
      // A retry of the end that already happened answers with it.
      if (current.ended_by === userId && current.status === request.status) return null;
      throw new ParleyError('CONFLICT', `this turn has already ended (${current.status})`, {
        field: turnField,
        details: { turnId, status: current.status },
      });
    });
  }

  /** [AT5] Any member stops the answer at once; what was streamed is kept, marked stopped. */
  async stop(userId: string, conversationId: string, turnId: string): Promise<AssistantTurn> {
    await requireMember(this.#reader, conversationId, userId);
    await this.#requireTurn(conversationId, turnId);
    const ended = await this.#close(conversationId, turnId, (current) =>
      current.status === 'streaming' ? { status: 'stopped', error: null, endedBy: userId } : null,
    );
    return toTurn(ended);
  }

  async list(userId: string, conversationId: string, query: { limit: number; status?: 'streaming' | undefined }): Promise<AssistantTurn[]> {
    await requireMember(this.#reader, conversationId, userId);
    let rows = this.#reader.selectFrom('assistant_turns').selectAll().where('conversation_id', '=', conversationId);
    if (query.status !== undefined) rows = rows.where('status', '=', query.status);
    const found = await rows.orderBy('ordinal', 'desc').limit(query.limit).execute();
    return found.map((row) => toTurn(row, this.#live.get(row.id)));
  }

  /** [AT11] One turn, for any member: what it answers, so "Why?" can be asked of an answer. */
  async get(userId: string, conversationId: string, turnId: string): Promise<AssistantTurn> {
    await requireMember(this.#reader, conversationId, userId);
    const row = await this.#reader.selectFrom('assistant_turns').selectAll().where('conversation_id', '=', conversationId).where('id', '=', turnId).executeTakeFirst();
    if (!row) throw new ParleyError('NOT_FOUND', 'no such turn in this conversation', { field: 'params.turnId' });
    return toTurn(row, this.#live.get(row.id));
  }

  /**
   * [AT8] At startup: turns this node left streaming when it stopped end as interrupted, with the
   * text saved. Turns held by other nodes go on; the watchdog ends those whose node is gone.
   */
  async recover(): Promise<number> {
    const rows = await this.#reader
      .selectFrom('assistant_turns')
      .select(['id', 'conversation_id'])
      .where('status', '=', 'streaming')
      .$if(!this.#soleNode, (query) => query.where((eb) => eb.or([eb('node_id', '=', this.#nodeId), eb('node_id', 'is', null)])))
      .execute();
    for (const { id, conversation_id: conversationId } of rows) {
      await this.#close(conversationId, id, (current) => (current.status === 'streaming' ? { status: 'interrupted', error: INTERRUPTED, endedBy: null } : null));
    }
    return rows.length;
  }

  /** [AT8] The watchdog: a turn that received no text for `timeoutMs` ends as failed. */
  sweep(): Promise<void> {
    this.#sweeping ??= this.#sweep().finally(() => (this.#sweeping = undefined));
    return this.#sweeping;
  }

  async #sweep(): Promise<void> {
    if (this.#closed) return;
    try {
      const rows = await this.#reader
        .selectFrom('assistant_turns')
        .select(['id', 'conversation_id', 'last_delta_at'])
        .where('status', '=', 'streaming')
        .execute();
      for (const row of rows) {
        if (this.#closed) return;
        const last = Math.max(Date.parse(row.last_delta_at), this.#live.get(row.id)?.lastDeltaAt ?? 0);
        if (this.#clock.now().getTime() - last < this.#timeoutMs) continue;
        await this.#close(row.conversation_id, row.id, (current) => (current.status === 'streaming' ? { status: 'failed', error: TIMED_OUT, endedBy: null } : null));
      }
    } catch (error) {
      // Storage closing under a sweep, or a passing fault: the next sweep tries again.
      if (!this.#closed) this.#logger.error({ err: error }, 'assistant turn watchdog');
    }
  }

  /** Stops the watchdog and saves the text of turns in flight, so a restart finds it [AT8]. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#watchdog);
    await this.#sweeping;
    const pending = [...this.#saveTimers.keys()];
    for (const timer of this.#saveTimers.values()) clearTimeout(timer);
    this.#saveTimers.clear();
    await Promise.all(pending.map((turnId) => this.#save(turnId, { durable: true })));
  }

  async #requireTurn(conversationId: string, turnId: string, field = 'params.turnId'): Promise<TurnRow> {
    const row = await this.#reader
      .selectFrom('assistant_turns')
      .selectAll()
      .where('id', '=', turnId)
      .where('conversation_id', '=', conversationId)
      .executeTakeFirst();
    if (!row) throw new ParleyError('NOT_FOUND', 'no such turn in this conversation', { field });
    return row;
  }

  #scheduleSave(turnId: string): void {
    if (this.#saveTimers.has(turnId) || this.#closed) return;
    const timer = setTimeout(() => {
      this.#saveTimers.delete(turnId);
      void this.#save(turnId, { durable: false });
    }, this.#saveIntervalMs);
    timer.unref();
    this.#saveTimers.set(turnId, timer);
  }

  /**
   * Saves the text in flight. While streaming, a snapshot that the next one replaces: it survives a
   * crash of the process, and waits for no fsync (a crash of the machine may lose the last
   * snapshots, never an ended answer). The saves at shutdown are durable.
   */
  async #save(turnId: string, options: RunOptions): Promise<void> {
    const turn = this.#live.get(turnId);
    if (!turn || this.#ending.has(turnId)) return;
    const { text } = turn;
    const at = new Date(turn.lastDeltaAt).toISOString();
    try {
      await this.#log.writeTo(turn.conversationId, async ({ db }) => {
        await db.updateTable('assistant_turns').set({ text, last_delta_at: at, node_id: this.#nodeId }).where('id', '=', turnId).where('status', '=', 'streaming').execute();
      }, options);
    } catch (error) {
      // The next save, or the end, writes it.
      if (!this.#closed) this.#logger.error({ err: error, turnId }, 'could not save an assistant turn');
    }
  }

  /**
   * Ends a turn: in one write, marks it ended and creates the answer as a message of the bot
   * (with its turn and end status), then publishes `assistant-turn-end` [AT4]. `decide` sees the
   * row as it is inside the write and returns the ending, or null to leave an ended turn as it is.
   */
  async #close(conversationId: string, turnId: string, decide: (row: TurnRow) => Ending | null): Promise<TurnRow> {
    this.#ending.add(turnId);
    try {
      return await this.#log.writeTo(conversationId, async (write) => {
        const { db, now } = write;
        const row = await db.selectFrom('assistant_turns').selectAll().where('id', '=', turnId).executeTakeFirstOrThrow();
        const ending = decide(row);
        if (!ending) return row;
        const live = this.#live.get(turnId);
        const streamed = live && live.text.length > row.text.length ? live.text : row.text;
        const text = ending.text !== undefined && ending.text !== '' ? ending.text : streamed;
        const error = ending.error ? JSON.stringify(ending.error) : null;
        const messageId = newId();
        const updated = await db
          .updateTable('assistant_turns')
          .set({ status: ending.status, text, ended_at: now, message_id: messageId, error, ended_by: ending.endedBy })
          .where('id', '=', turnId)
          .where('status', '=', 'streaming')
          .executeTakeFirst();
        // Ended by another node meanwhile: theirs stands.
        if (Number(updated.numUpdatedRows) !== 1) return db.selectFrom('assistant_turns').selectAll().where('id', '=', turnId).executeTakeFirstOrThrow();
        // The answer's seq is last_seq + 1: hold the row so another node cannot take it first.
        await write.lock(row.conversation_id);
        const conversation = await db.selectFrom('conversations').select('last_seq').where('id', '=', row.conversation_id).executeTakeFirstOrThrow();
        await appendMessages(write, { id: row.conversation_id, lastSeq: conversation.last_seq }, row.bot_id, [
          { id: messageId, authorId: row.bot_id, text, replyToId: null, attachments: [], turn: { id: turnId, status: ending.status, error } },
        ]);
        write.afterCommit(() => {
          clearTimeout(this.#saveTimers.get(turnId));
          this.#saveTimers.delete(turnId);
          this.#bus.publish({
            kind: 'assistant',
            event: { type: 'assistant-turn-end', conversationId: row.conversation_id, turnId, status: ending.status, messageId, error: ending.error },
          });
          this.#live.end(turnId);
        });
        return { ...row, status: ending.status, text, ended_at: now, message_id: messageId, error, ended_by: ending.endedBy };
      });
    } finally {
      this.#ending.delete(turnId);
    }
  }
}
