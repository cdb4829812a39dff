import type { ConversationEvent, NewConversationEvent } from '@parley/protocol';
import { CompiledQuery, type Kysely, sql } from 'kysely';
import type { Bus } from '../realtime/bus.js';
import type { StorageKind } from '../storage/database.js';
import { execute, PreparedQuery, PreparedStatement } from '../storage/prepared.js';
import type { Database } from '../storage/schema.js';
import type { RunOptions, WriteQueue, WriteTransaction } from '../storage/write-queue.js';

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
   * `alongside`, an INSERT, UPDATE or DELETE that returns nothing, runs first: on PostgreSQL in the
   * same statement as the append (one round trip for a message's row and its event), so it must
   * not depend on the append, nor the append on it.
   */
  append<E extends NewConversationEvent>(
    conversationId: string,
    event: E,
    alongside?: CompiledQuery,
  ): Promise<E & { seq: number; at: string; conversationId: string }>;
  /**
   * Appends several events to one conversation's log, in order, with one update and one insert:
   * for bulk writes (copying a conversation) that would otherwise hold the write queue for a
   * round trip per event.
   */
  appendMany<E extends NewConversationEvent>(
    conversationId: string,
    events: readonly E[],
  ): Promise<Array<E & { seq: number; at: string; conversationId: string }>>;
  /**
   * Holds a conversation's row until the commit, so what this write reads of it (such as
   * `last_seq`, to number a message before appending its event) stays true. Needed on PostgreSQL,
   * where several nodes write at once; SQLite has a single writer and takes no lock. Call it
   * before reading the conversation.
   */
  lock(conversationId: string): Promise<void>;
  /** Runs after the commit, for effects that must not happen if the write is rolled back. */
  afterCommit(effect: () => void): void;
}

/** The reads of every resume (each client of a restarted node makes one): compiled once. */
const eventsAfter = new PreparedQuery((db, p: { conversationId: string; after: number; limit: number }) =>
  db.selectFrom('events').select('payload').where('conversation_id', '=', p.conversationId).where('seq', '>', p.after).orderBy('seq').limit(p.limit),
);
const eventsBetween = new PreparedQuery((db, p: { conversationId: string; after: number; upTo: number; limit: number }) =>
  db
    .selectFrom('events')
    .select('payload')
    .where('conversation_id', '=', p.conversationId)
    .where('seq', '>', p.after)
    .where('seq', '<=', p.upTo)
    .orderBy('seq')
    .limit(p.limit),
);

/**
 * The only way to change conversation state. See SPEC.md beside this file: [EL1]–[EL3].
 */
export class EventLog {
  readonly #queue: WriteQueue;
  readonly #reader: Kysely<Database>;
  readonly #bus: Bus;
  readonly #clock: Clock;
  readonly #locksRows: boolean;
  // The two statements of every append, compiled once (see PreparedStatement).
  readonly #nextSeq = new PreparedStatement(
    sql<{ last_seq: number }>`update conversations set last_seq = last_seq + 1, updated_at = ${'now'} where id = ${'conversation'} returning last_seq`,
  );
  readonly #insertEvent = new PreparedStatement(
    sql`insert into events (conversation_id, seq, type, payload, created_at) values (${'conversation'}, ${0}, ${'type'}, ${'payload'}, ${'now'})`,
  );
  /**
   * On PostgreSQL, where each statement is a round trip, both in one: the payload is sent without
   * its seq and the statement writes the seq in as the first key (`{"seq":N,` + the rest).
   */
  readonly #appendNumbered = new PreparedStatement(
    sql<{ seq: number }>`with next as (
      update conversations set last_seq = last_seq + 1, updated_at = ${'now'} where id = ${'conversation'} returning last_seq
    )
    insert into events (conversation_id, seq, type, payload, created_at)
    select ${'conversation'}::text, last_seq, ${'type'}::text, '{"seq":' || last_seq || ',' || substr(${'payload'}::text, 2), ${'now'}::text from next
    returning seq`,
  );
  readonly #oneStatementAppend: boolean;

  constructor(options: { queue: WriteQueue; reader: Kysely<Database>; bus: Bus; backend: StorageKind; clock?: Clock }) {
    this.#queue = options.queue;
    this.#locksRows = options.backend === 'postgres';
    this.#oneStatementAppend = options.backend === 'postgres';
    this.#reader = options.reader;
    this.#bus = options.bus;
    this.#clock = options.clock ?? systemClock;
  }

  /** The one-statement append's SQL with each statement run alongside it, by that statement's SQL. */
  readonly #alongsideSql = new Map<string, string>();

  /**
   * The append with another statement as a data-modifying CTE, which PostgreSQL runs to completion
   * whether or not the rest reads it. Its parameters are numbered after the append's.
   */
  #withAlongside<Row>(append: CompiledQuery<Row>, alongside: CompiledQuery): CompiledQuery<Row> {
    let sqlText = this.#alongsideSql.get(alongside.sql);
    if (sqlText === undefined) {
      const offset = append.parameters.length;
      const renumbered = alongside.sql.replace(/\$(\d+)/g, (_match, index: string) => `$${Number(index) + offset}`);
      if (!append.sql.startsWith('with ')) throw new Error('the one-statement append must start with a CTE');
      sqlText = `with alongside as (${renumbered}), ${append.sql.slice('with '.length)}`;
      // Bounded by the statements the code runs alongside an append (a message's row): a handful.
      if (this.#alongsideSql.size < 64) this.#alongsideSql.set(alongside.sql, sqlText);
    }
    return CompiledQuery.raw(sqlText, [...append.parameters, ...alongside.parameters]) as CompiledQuery<Row>;
  }

  /** How long the write waiting longest has waited for the database, in ms (WriteQueue.oldestWaitMs). */
  backlogMs(): number {
    return this.#queue.oldestWaitMs();
  }

  /** `write` for a write about one conversation: in its lane of the write queue, beside other conversations' in theirs. */
  writeTo<T>(conversationId: string, work: (context: WriteContext) => Promise<T>, options: RunOptions = {}): Promise<T> {
    return this.write(work, { ...options, lane: conversationId });
  }

  async write<T>(work: (context: WriteContext) => Promise<T>, options: RunOptions = {}): Promise<T> {
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
        append: async (conversationId, event, alongside) => {
          let full: ConversationEvent;
          if (this.#oneStatementAppend) {
            const unnumbered = { ...event, conversationId, at: now };
            const payload = JSON.stringify(unnumbered);
            const append = this.#appendNumbered.with(db, [now, conversationId, conversationId, event.type, payload, now]);
            const { rows } = await execute(db, alongside ? this.#withAlongside(append, alongside) : append);
            const seq = rows[0]?.seq;
            if (seq === undefined) throw new Error(`no conversation ${conversationId} to append to`);
            full = { ...unnumbered, seq } as ConversationEvent;
          } else {
            if (alongside) await execute(db, alongside);
            const { rows } = await execute(db, this.#nextSeq.with(db, [now, conversationId]));
            const seq = rows[0]?.last_seq;
            if (seq === undefined) throw new Error(`no conversation ${conversationId} to append to`);
            full = { ...event, conversationId, seq, at: now } as ConversationEvent;
            await execute(db, this.#insertEvent.with(db, [conversationId, seq, full.type, JSON.stringify(full), now]));
          }
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
        lock: async (conversationId) => {
          if (!this.#locksRows) return;
          // FOR NO KEY UPDATE: the lock the last_seq update takes anyway, so it adds no new way to
          // wait, and it does not block inserts whose foreign keys point at the conversation.
          await db.selectFrom('conversations').select('id').where('id', '=', conversationId).forNoKeyUpdate().execute();
        },
        afterCommit: (effect) => effects.push(effect),
      };
      return work(context);
    }, options);
    for (const event of appended) this.#bus.publish({ kind: 'event', event });
    for (const effect of effects) effect();
    return result;
  }

  /** Events after `after`, in order, at most `limit`. */
  async read(conversationId: string, after: number, limit: number, upTo?: number): Promise<ConversationEvent[]> {
    const rows =
      upTo === undefined
        ? await eventsAfter.all(this.#reader, { conversationId, after, limit })
        : await eventsBetween.all(this.#reader, { conversationId, after, upTo, limit });
    // The log holds only what this server wrote after validating it, so it is parsed as trusted.
    return rows.map((row) => JSON.parse(row.payload) as ConversationEvent);
  }
}
