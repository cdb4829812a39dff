import type { ConversationEvent, NewConversationEvent } from '@parley/protocol';
import type { Kysely } from 'kysely';
import type { Bus } from '../realtime/bus.js';
import type { Database } from '../storage/schema.js';
import type { WriteQueue, WriteTransaction } from '../storage/write-queue.js';

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** What a write sees: the transaction, and the conversation logs to append to. */
export interface WriteContext {
  readonly db: WriteTransaction;
  readonly now: string;
  /**
   * Appends an event to a conversation's log, giving it the next sequence number, in the same
   * transaction as the table updates around it. Published to the bus only after the commit.
   */
  append<E extends NewConversationEvent>(conversationId: string, event: E): Promise<E & { seq: number; at: string; conversationId: string }>;
  /**
   * Appends several events to one conversation's log, in order, with one update and one insert:
   * for bulk writes (copying a conversation) that would otherwise hold the write queue for a
   * round trip per event.
   */
  appendMany<E extends NewConversationEvent>(
    conversationId: string,
    events: readonly E[],
  ): Promise<Array<E & { seq: number; at: string; conversationId: string }>>;
  /** Runs after the commit, for effects that must not happen if the write is rolled back. */
  afterCommit(effect: () => void): void;
}

/**
 * The only way to change conversation state. See SPEC.md beside this file: [EL1]–[EL3].
 */
export class EventLog {
  readonly #queue: WriteQueue;
  readonly #reader: Kysely<Database>;
  readonly #bus: Bus;
  readonly #clock: Clock;

  constructor(options: { queue: WriteQueue; reader: Kysely<Database>; bus: Bus; clock?: Clock }) {
    this.#queue = options.queue;
    this.#reader = options.reader;
    this.#bus = options.bus;
    this.#clock = options.clock ?? systemClock;
  }

  async write<T>(work: (context: WriteContext) => Promise<T>): Promise<T> {
    let appended: ConversationEvent[] = [];
    let effects: Array<() => void> = [];
    const result = await this.#queue.run(async (db) => {
      // A batch retried after a failure runs the work again from a clean slate.
      appended = [];
      effects = [];
      const now = this.#clock.now().toISOString();
      const context: WriteContext = {
        db,
        now,
        append: async (conversationId, event) => {
          const row = await db
            .updateTable('conversations')
            .set((eb) => ({ last_seq: eb('last_seq', '+', 1), updated_at: now }))
            .where('id', '=', conversationId)
            .returning('last_seq')
            .executeTakeFirstOrThrow();
          const full = { ...event, conversationId, seq: row.last_seq, at: now } as ConversationEvent;
          await db
            .insertInto('events')
            .values({
              conversation_id: conversationId,
              seq: full.seq,
              type: full.type,
              payload: JSON.stringify(full),
              created_at: now,
            })
            .execute();
          appended.push(full);
          return full as never;
        },
        appendMany: async (conversationId, events) => {
          if (events.length === 0) return [];
          const row = await db
            .updateTable('conversations')
            .set((eb) => ({ last_seq: eb('last_seq', '+', events.length), updated_at: now }))
            .where('id', '=', conversationId)
            .returning('last_seq')
            .executeTakeFirstOrThrow();
          const first = row.last_seq - events.length + 1;
          const full = events.map((event, index) => ({ ...event, conversationId, seq: first + index, at: now }) as ConversationEvent);
          await db
            .insertInto('events')
            .values(
              full.map((event) => ({
                conversation_id: conversationId,
                seq: event.seq,
                type: event.type,
                payload: JSON.stringify(event),
                created_at: now,
              })),
            )
            .execute();
          appended.push(...full);
          return full as never;
        },
        afterCommit: (effect) => effects.push(effect),
      };
      return work(context);
    });
    for (const event of appended) this.#bus.publish({ kind: 'event', event });
    for (const effect of effects) effect();
    return result;
  }

  /** Events after `after`, in order, at most `limit`. */
  async read(conversationId: string, after: number, limit: number, upTo?: number): Promise<ConversationEvent[]> {
    let query = this.#reader
      .selectFrom('events')
      .select('payload')
      .where('conversation_id', '=', conversationId)
      .where('seq', '>', after);
    if (upTo !== undefined) query = query.where('seq', '<=', upTo);
    const rows = await query.orderBy('seq').limit(limit).execute();
    // The log holds only what this server wrote after validating it, so it is parsed as trusted.
    return rows.map((row) => JSON.parse(row.payload) as ConversationEvent);
  }
}
