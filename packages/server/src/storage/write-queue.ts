import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

export type WriteTransaction = Transaction<Database>;

/** One unit of work: runs inside a shared transaction, isolated from its neighbours by a savepoint. */
export type Work<T> = (trx: WriteTransaction) => Promise<T>;

interface Pending {
  work: Work<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export interface WriteQueueOptions {
  /** Most works committed together. */
  maxBatch?: number;
  /** Called after each commit with the number of works it carried (for benchmarks and logs). */
  onCommit?: (size: number, milliseconds: number) => void;
}

/**
 * Group commit. Works that arrive while a batch is committing wait and go together in the next
 * one, so a single durable commit (one fsync) acknowledges many writes. Each work runs inside
 * its own savepoint: a work that throws is rolled back alone and its caller gets the error,
 * while the rest of the batch commits. A work's promise settles only after the commit.
 */
export class WriteQueue {
  readonly #db: Kysely<Database>;
  readonly #maxBatch: number;
  readonly #onCommit: ((size: number, milliseconds: number) => void) | undefined;
  #pending: Pending[] = [];
  #running = false;
  #closed = false;
  #idle: Array<() => void> = [];

  constructor(db: Kysely<Database>, options: WriteQueueOptions = {}) {
    this.#db = db;
    this.#maxBatch = options.maxBatch ?? 512;
    this.#onCommit = options.onCommit;
  }

  run<T>(work: Work<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('write queue is closed'));
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ work: work as Work<unknown>, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#running) {
        this.#running = true;
        setImmediate(() => void this.#drain());
      }
    });
  }

  /** Waits for queued works to commit, then refuses new ones. */
  async close(): Promise<void> {
    this.#closed = true;
    if (!this.#running) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, this.#maxBatch);
      await this.#commit(batch);
    }
    this.#running = false;
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  async #commit(batch: Pending[]): Promise<void> {
    const started = performance.now();
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    let trx: Awaited<ReturnType<ReturnType<Kysely<Database>['startTransaction']>['execute']>>;
    try {
      trx = await this.#db.startTransaction().execute();
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    try {
      for (const item of batch) {
        const savepoint = await trx.savepoint('work').execute();
        try {
          const value = await item.work(savepoint);
          await savepoint.releaseSavepoint('work').execute();
          outcomes.push({ ok: true, value });
        } catch (error) {
          await savepoint.rollbackToSavepoint('work').execute();
          outcomes.push({ ok: false, error });
        }
      }
      await trx.commit().execute();
    } catch (error) {
      // The batch as a whole failed (the connection, the commit, or a rollback): nothing of it
      // was written, so every caller learns of the failure.
      await trx.rollback().execute().catch(() => undefined);
      for (const item of batch) item.reject(error);
      return;
    }
    this.#onCommit?.(batch.length, performance.now() - started);
    batch.forEach((item, index) => {
      const outcome = outcomes[index];
      if (outcome?.ok) item.resolve(outcome.value);
      else item.reject(outcome?.error);
    });
  }
}
