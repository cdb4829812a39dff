import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { StorageKind } from './database.js';
import { execute, transactionRunsDirectly } from './prepared.js';
import type { Database } from './schema.js';

export type WriteTransaction = Transaction<Database>;

/**
 * One unit of work: runs inside a shared transaction, isolated from its neighbours by a savepoint.
 * A work may run more than once (the whole batch is run again after a deadlock), so it must act
 * only on the transaction it is given; effects outside the database belong after the commit.
 */
export type Work<T> = (trx: WriteTransaction) => Promise<T>;

interface Pending {
  work: Work<unknown>;
  durable: boolean;
  /** When it was queued (performance.now()), for `oldestWaitMs`. */
  queuedAt: number;
  /** RunOptions.lane: what the work is about. */
  key: string | undefined;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export interface RunOptions {
  /**
   * `false` for a write that may be lost in a crash of the machine (never of the process): it is
   * acknowledged once committed, without waiting for a sync, though never before the writes
   * queued ahead of it. For progress snapshots that the next one replaces. Default true.
   */
  durable?: boolean;
  /**
   * What the write is about (a conversation id), when it is mostly about one: writes with the
   * same key go in the same lane, one batch at a time, while other lanes commit theirs in
   * parallel (`lanes`). Writes without a key share the first lane. Keys only spread the load:
   * what keeps writes correct is the database's locks, whichever lanes they run in; a batch
   * that deadlocks with another lane's is run again, as with another node's.
   */
  lane?: string;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export interface WriteQueueOptions {
  /**
   * The database behind the connection. On PostgreSQL every statement is a round trip, so the
   * queue sends the statements between two works together; SQLite runs one statement at a time.
   */
  backend?: StorageKind;
  /** Most works committed together. */
  maxBatch?: number;
  /**
   * Batches in flight at once, each on its own connection. PostgreSQL only (SQLite has a single
   * writer: always 1). Default 1.
   */
  lanes?: number;
  /** Most attempts at a batch that the database aborted for a deadlock or a serialization failure. */
  maxAttempts?: number;
  /** Makes a commit durable (Storage.sync): awaited after each commit, before any work is acknowledged. */
  sync?: () => Promise<void>;
  /** Storage.beforeBatch: awaited before a batch when it returns a promise. */
  beforeBatch?: () => Promise<unknown> | undefined;
  /** Called after each durable commit with the number of works it carried and its time (for benchmarks and logs). */
  onCommit?: (size: number, milliseconds: number) => void;
  /** Called when a batch is about to be run again, with the attempt that failed (1 for the first). */
  onRetry?: (attempt: number, error: unknown) => void;
}

/**
 * PostgreSQL aborts a transaction with these codes only because of what other transactions did at
 * the same moment (40P01 deadlock_detected, 40001 serialization_failure): running it again can
 * succeed. Anything else is the work's own failure and is not retried.
 */
const RETRYABLE_CODES: ReadonlySet<string> = new Set(['40P01', '40001']);

export function isRetryable(error: unknown): boolean {
  for (let current = error, depth = 0; current !== null && typeof current === 'object' && depth < 5; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && RETRYABLE_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Thrown inside an attempt to abandon it: the whole batch is rolled back and run again. */
class RetryBatch extends Error {
  constructor(readonly reason: unknown) {
    super('batch will be retried', { cause: reason });
  }
}

/** A batch of one work that failed: rolled back, and its caller gets the error. */
class FailedAlone extends Error {
  constructor(readonly reason: unknown) {
    super('the only work of a batch failed', { cause: reason });
  }
}

/** Thrown inside an attempt without savepoints when a work failed: the batch runs again with them. */
class NeedsSavepoints extends Error {
  constructor() {
    super('a work failed in a batch without savepoints');
  }
}

/** Works waiting in one lane, and whether a batch of it is running. */
interface Lane {
  pending: Pending[];
  running: boolean;
}

/** FNV-1a of the key's UTF-16 units: a fixed lane per key, spread evenly. */
export function laneIndex(key: string, lanes: number): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < key.length; index += 1) {
    hash ^= key.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % lanes;
}

/**
 * Group commit. Works that arrive while a batch is committing wait and go together in the next
 * one, and on SQLite one sync of the log (off the event loop, `sync`) acknowledges every batch
 * committed before it began, so one fsync acknowledges many writes. Each work runs inside
 * its own savepoint: a work that throws is rolled back alone and its caller gets the error,
 * while the rest of the batch commits. A work's promise settles only after the commit.
 *
 * On PostgreSQL several nodes write at once, and a batch holding row locks can deadlock with
 * another node's batch. Rolling back one work to its savepoint would not help (the batch still
 * holds the locks of the works before it), so the whole batch is rolled back and run again, a
 * bounded number of times; on the last attempt such a work fails alone like any other.
 * There one batch at a time would leave the database's other connections idle, so the queue runs
 * `lanes` batches at once, works keyed by conversation in the lane of their key: batches of
 * different conversations touch different rows and rarely wait for each other. Works without a
 * key (accounts, new conversations) share the first lane, so that no two lanes mix them.
 */
export class WriteQueue {
  readonly #db: Kysely<Database>;
  readonly #maxBatch: number;
  readonly #maxAttempts: number;
  /**
   * PostgreSQL: statements between two works go together, batches run without savepoints first
   * [ST13], and their works run in lock order [ST14].
   */
  readonly #postgres: boolean;
  readonly #sync: (() => Promise<void>) | undefined;
  readonly #beforeBatch: (() => Promise<unknown> | undefined) | undefined;
  readonly #onCommit: ((size: number, milliseconds: number) => void) | undefined;
  readonly #onRetry: ((attempt: number, error: unknown) => void) | undefined;
  readonly #lanes: Lane[];
  #closed = false;
  #idle: Array<() => void> = [];
  /** Commits waiting for a sync that starts after them; a sync in flight takes none that came later. */
  #syncWaiting: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  #syncing = false;
  /** Settles when every batch committed so far is acknowledged: batches are acknowledged in order. */
  #acknowledged: Promise<void> = Promise.resolve();

  constructor(db: Kysely<Database>, options: WriteQueueOptions = {}) {
    this.#db = db;
    this.#maxBatch = options.maxBatch ?? 512;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    const lanes = options.backend === 'postgres' ? Math.max(1, Math.floor(options.lanes ?? 1)) : 1;
    this.#lanes = Array.from({ length: lanes }, () => ({ pending: [], running: false }));
    this.#postgres = options.backend === 'postgres';
    this.#sync = options.sync;
    this.#beforeBatch = options.beforeBatch;
    this.#onCommit = options.onCommit;
    this.#onRetry = options.onRetry;
  }

  run<T>(work: Work<T>, options: RunOptions = {}): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('write queue is closed'));
    const lanes = this.#lanes.length;
    const lane = this.#lanes[options.lane === undefined || lanes === 1 ? 0 : laneIndex(options.lane, lanes)]!;
    return new Promise<T>((resolve, reject) => {
      lane.pending.push({
        work: work as Work<unknown>,
        durable: options.durable !== false,
        queuedAt: performance.now(),
        key: options.lane,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      if (!lane.running) {
        lane.running = true;
        setImmediate(() => void this.#drain(lane));
      }
    });
  }

  /**
   * How long the longest-waiting work not yet in a batch has waited, in milliseconds (0 when none
   * waits): how far the database is behind. The HTTP layer refuses new writes past a bound
   * (http/SPEC.md [PB7]); works keep their order, so the first of each lane is its oldest.
   */
  oldestWaitMs(now = performance.now()): number {
    let oldest = now;
    for (const lane of this.#lanes) {
      const first = lane.pending[0];
      if (first && first.queuedAt < oldest) oldest = first.queuedAt;
    }
    return now - oldest;
  }

  /** Waits for queued works to commit and be acknowledged, then refuses new ones. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#lanes.some((lane) => lane.running)) await new Promise<void>((resolve) => this.#idle.push(resolve));
    await this.#acknowledged;
  }

  /**
   * One batch after another in a lane. With a sync, the next batch runs while the one before
   * waits for its sync (a batch's works are acknowledged in order, never before their sync), so
   * the fsync is not on the path of the next commit.
   */
  async #drain(lane: Lane): Promise<void> {
    while (lane.pending.length > 0) {
      // Storage's maintenance between two batches (SQLite starting its log over [ST12]): the
      // works that arrive meanwhile go together in the next batch.
      const pause = this.#beforeBatch?.();
      if (pause) await pause.catch(() => undefined);
      const batch = lane.pending.splice(0, this.#maxBatch);
      await this.#commit(this.#inLockOrder(batch));
    }
    lane.running = false;
    if (this.#lanes.some((other) => other.running)) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  /**
   * On PostgreSQL, a batch's works by key (keyless ones first), in their order within a key. A
   * send locks its conversation first, so batches of other nodes that lock conversations in the
   * same order cannot deadlock over them (in arrival order, node A's batch locking X then Y and
   * node B's locking Y then X did, often enough under load to use up the attempts). Reordering
   * is safe: no work of a batch was acknowledged before another began, so none can depend on
   * another of its batch except through the order of one key's works, which is kept.
   */
  #inLockOrder(batch: Pending[]): Pending[] {
    if (!this.#postgres || batch.length < 2) return batch;
    const ranked = batch.map((item, index) => ({ item, index }));
    ranked.sort((a, b) => {
      const x = a.item.key;
      const y = b.item.key;
      if (x === y) return a.index - b.index;
      if (x === undefined) return -1;
      if (y === undefined) return 1;
      return x < y ? -1 : 1;
    });
    return ranked.map(({ item }) => item);
  }

  /** Resolves once a sync that started after this call has finished. */
  #durable(sync: () => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#syncWaiting.push({ resolve, reject });
      if (!this.#syncing) void this.#runSyncs(sync);
    });
  }

  /** One sync at a time; the commits that came during one share the next. */
  async #runSyncs(sync: () => Promise<void>): Promise<void> {
    this.#syncing = true;
    while (this.#syncWaiting.length > 0) {
      const waiting = this.#syncWaiting.splice(0);
      try {
        await sync();
        for (const waiter of waiting) waiter.resolve();
      } catch (error) {
        for (const waiter of waiting) waiter.reject(error);
      }
    }
    this.#syncing = false;
  }

  async #commit(batch: Pending[]): Promise<void> {
    // On PostgreSQL a savepoint is a round trip per work: a batch first runs without them, and
    // only when one of its works fails (rare) is it run again with them, so that the failed one
    // is rolled back alone. SQLite's savepoints cost next to nothing: it always takes them.
    let guarded = !this.#postgres;
    for (let attempt = 1; ; attempt += 1) {
      const started = performance.now();
      const last = attempt >= this.#maxAttempts;
      let outcomes: Outcome[];
      try {
        outcomes = await this.#attempt(batch, last, guarded || (last && batch.length > 1));
      } catch (error) {
        if (error instanceof FailedAlone) {
          // Nothing was committed; the caller still learns of it in order, after the batches before.
          this.#acknowledged = this.#acknowledged.then(() => batch[0]?.reject(error.reason));
          return;
        }
        if (error instanceof NeedsSavepoints) {
          guarded = true;
          // Not a collision with another transaction: this attempt does not count.
          attempt -= 1;
          continue;
        }
        if (!last && isRetryable(error)) {
          this.#onRetry?.(attempt, error);
          // A little random wait, so two nodes that collided do not collide again in step.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
          continue;
        }
        // The batch as a whole failed (the connection, the commit, or a rollback): nothing of it
        // was written, so every caller learns of the failure.
        for (const item of batch) item.reject(error);
        return;
      }
      const settle = () => {
        this.#onCommit?.(batch.length, performance.now() - started);
        batch.forEach((item, index) => {
          const outcome = outcomes[index];
          if (outcome?.ok) item.resolve(outcome.value);
          else item.reject(outcome?.error);
        });
      };
      const sync = this.#sync;
      if (!sync) return settle();
      // Committed but not durable yet: nothing is acknowledged until the sync (when any work of
      // the batch asks for it) and the batches before; if the sync fails every caller learns of
      // it (the rows may be there after all; a retried idempotent write finds them).
      const ready = batch.some((item) => item.durable) ? this.#durable(sync) : undefined;
      this.#acknowledged = Promise.all([this.#acknowledged, ready]).then(settle, (error: unknown) => {
        for (const item of batch) item.reject(error);
      });
      return;
    }
  }

  /**
   * Runs the batch in one transaction and commits it; throws if the batch as a whole failed.
   * Unguarded (no savepoints), the first work that fails abandons the attempt (NeedsSavepoints):
   * what it wrote before failing cannot be undone alone.
   */
  async #attempt(batch: Pending[], last: boolean, guarded: boolean): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    const trx = await this.#db.startTransaction().execute();
    transactionRunsDirectly(trx, this.#db);
    try {
      if (!guarded) {
        for (const item of batch) {
          try {
            outcomes.push({ ok: true, value: await item.work(trx) });
          } catch (error) {
            if (!last && isRetryable(error)) throw new RetryBatch(error);
            // A work alone in its batch fails with the whole transaction: nothing to keep.
            if (batch.length === 1) {
              await trx.rollback().execute();
              throw new FailedAlone(error);
            }
            throw new NeedsSavepoints();
          }
        }
        await trx.commit().execute();
        return outcomes;
      }
      // The savepoint of the work before, released when the next one starts (the commit
      // releases the last one). Raw statements: Kysely's savepoint builder costs more than
      // SQLite takes to run one, and allocates a transaction object per call.
      let held = false;
      for (const item of batch) {
        if (held && this.#postgres) await execute(trx, RELEASE_AND_SAVEPOINT);
        else {
          if (held) await execute(trx, RELEASE);
          await execute(trx, SAVEPOINT);
        }
        held = true;
        try {
          outcomes.push({ ok: true, value: await item.work(trx) });
        } catch (error) {
          if (!last && isRetryable(error)) throw new RetryBatch(error);
          // The savepoint survives its rollback, and is released like any other.
          await execute(trx, ROLLBACK_TO_SAVEPOINT);
          outcomes.push({ ok: false, error });
        }
      }
      await trx.commit().execute();
    } catch (error) {
      if (error instanceof FailedAlone) throw error;
      await trx.rollback().execute().catch(() => undefined);
      throw error instanceof RetryBatch ? error.reason : error;
    }
    return outcomes;
  }
}

const SAVEPOINT = CompiledQuery.raw('savepoint work');
const RELEASE = CompiledQuery.raw('release savepoint work');
const ROLLBACK_TO_SAVEPOINT = CompiledQuery.raw('rollback to savepoint work');
/** Two statements in one round trip: PostgreSQL's simple query protocol takes several at once. */
const RELEASE_AND_SAVEPOINT = CompiledQuery.raw('release savepoint work; savepoint work');
