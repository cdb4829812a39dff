import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../logger.js';

/**
 * The worker's code, as a CommonJS script. It has three connections of its own to the database:
 * one that checkpoints (and starts the log over), and two that take turns holding a read
 * snapshot, so that one always is held (see startCheckpointer for why).
 */
const source = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const Database = require(workerData.driver);
const open = () => {
  const database = new Database(workerData.file);
  database.pragma('busy_timeout = 5000');
  database.pragma('synchronous = ' + workerData.synchronous);
  return database;
};
const database = open();
const holders = [open(), open()].map((connection) => ({ connection, read: connection.prepare('select 1 from sqlite_schema limit 1') }));
let next = 0;
const hold = (holder) => {
  holder.connection.exec('begin');
  holder.read.get();
};
const release = (holder) => {
  if (holder.connection.inTransaction) holder.connection.exec('commit');
};
const checkpoint = () => {
  const [row] = database.pragma('wal_checkpoint(PASSIVE)');
  return row;
};
const tick = () => {
  try {
    // The new snapshot first, then let go of the older one: one is held at every moment.
    const fresh = holders[next];
    next = 1 - next;
    hold(fresh);
    release(holders[next]);
    const row = checkpoint();
    parentPort.postMessage({ frames: row.log });
  } catch (error) {
    parentPort.postMessage({ error: String(error) });
  }
};
// The log header's checkpoint sequence number: a restart increments it.
const header = Buffer.alloc(4);
const sequence = () => {
  const fd = fs.openSync(workerData.file + '-wal', 'r');
  try {
    fs.readSync(fd, header, 0, 4, 12);
  } finally {
    fs.closeSync(fd);
  }
  return header.readUInt32BE(0);
};
const restart = () => {
  for (const holder of holders) release(holder);
  let restarted = false;
  try {
    const row = checkpoint();
    if (row.busy === 0 && row.log === row.checkpointed) {
      // Every frame is in the database file: the next write starts the log over, and writes
      // and syncs its new header. A write of one page that changes nothing makes it this one.
      // Its commit needs no sync of its own (it changes nothing); the header's sync stays.
      const before = sequence();
      database.pragma('synchronous = NORMAL');
      const version = database.pragma('user_version', { simple: true });
      database.pragma('user_version = ' + version);
      database.pragma('synchronous = ' + workerData.synchronous);
      restarted = sequence() !== before;
    }
  } catch (error) {
    parentPort.postMessage({ error: String(error) });
  }
  hold(holders[0]);
  next = 1;
  return restarted;
};
hold(holders[0]);
next = 1;
const timer = setInterval(tick, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'stop') {
    clearInterval(timer);
    for (const holder of holders) {
      release(holder);
      holder.connection.close();
    }
    database.close();
    parentPort.close();
    return;
  }
  parentPort.postMessage({ restarted: restart(), id: message.restart });
});
`;

export interface Checkpointer {
  /**
   * Frames in the write-ahead log since it last started over, as last reported: past
   * `restartFrames` the write queue should pause and call `restart`.
   */
  readonly due: boolean;
  /**
   * With no write under way on the writer connection, and none started until it settles:
   * checkpoints the whole log and starts it over on the worker's connection. Resolves whether
   * it did (a read snapshot held elsewhere can prevent it: then it is due again later).
   */
  restart(): Promise<boolean>;
  stop(): Promise<void>;
}

export interface CheckpointerOptions {
  file: string;
  synchronous: string;
  logger: Logger;
  /** How often the worker checkpoints what it can; default 50 ms. */
  intervalMs?: number;
  /**
   * Frames in the log past which a restart is due; default 4,000 (16 MB of 4 KB pages). Each
   * restart pauses the writes for its two fsyncs and the last copy (5-10 ms measured under load),
   * so it is made rare: at 1,000, B5's 5,000 msg/s paused five times a second.
   */
  restartFrames?: number;
}

/**
 * SQLite copies its write-ahead log into the database file (a checkpoint, with its own fsyncs)
 * inside whichever commit crosses the log's size limit; and a writer that finds the whole log
 * copied starts it over, writing a new header and fsyncing it before its commit. Both happen on
 * the writer's thread, the event loop, so they are moved here [ST12]:
 *
 * - A worker thread with its own connection checkpoints what it can every `intervalMs`
 *   (PASSIVE: it never blocks the writer). Under steady writes it never catches up (a commit
 *   lands during every pass), so on its own the log would grow until the writer's automatic
 *   checkpoint copied it all on the event loop: a stall of 0.2 s to over a second, once every
 *   few thousand frames.
 * - The worker always holds a read snapshot (two connections taking turns, the newer one taken
 *   before the older is let go). A writer starts the log over only when no reader holds a
 *   snapshot in it, so the writer never does; checkpoints still copy up to the last turn.
 * - Once the log has `restartFrames` frames, the write queue waits (without blocking the event
 *   loop) between two batches while the worker lets go of its snapshots, copies the last
 *   frames and starts the log over itself with a one-page write that changes nothing. The log
 *   then starts from its beginning again, overwriting what the file already holds: it stays
 *   the same size, so the per-commit fdatasync has no file size to journal either.
 *
 * The writer's own automatic checkpoint stays as a backstop at a higher limit, for a log the
 * worker cannot start over (a read snapshot held elsewhere).
 */
export function startCheckpointer(options: CheckpointerOptions): Checkpointer {
  const { logger } = options;
  const restartFrames = options.restartFrames ?? 4000;
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(source, {
    eval: true,
    workerData: { driver, file: options.file, synchronous: options.synchronous, intervalMs: options.intervalMs ?? 50 },
  });
  let frames = 0;
  let requests = 0;
  const waiting = new Map<number, (restarted: boolean) => void>();
  let restarting: Promise<boolean> | undefined;
  let exited = false;
  const settleAll = () => {
    for (const resolve of waiting.values()) resolve(false);
    waiting.clear();
  };
  worker.on('message', (message: { error?: string; frames?: number; restarted?: boolean; id?: number }) => {
    if (message.error) logger.error({ error: message.error }, 'sqlite checkpoint failed');
    if (message.frames !== undefined) frames = message.frames;
    if (message.id !== undefined) {
      if (message.restarted) frames = 0;
      waiting.get(message.id)?.(message.restarted === true);
      waiting.delete(message.id);
      if (waiting.size === 0 && stopping === undefined) worker.unref();
    }
  });
  worker.on('error', (error) => logger.error({ err: error }, 'sqlite checkpointer stopped'));
  worker.on('exit', () => {
    exited = true;
    settleAll();
  });
  // It must not keep the process alive on its own.
  worker.unref();
  let stopping: Promise<void> | undefined;
  return {
    get due() {
      return !exited && stopping === undefined && frames >= restartFrames;
    },
    restart: () =>
      (restarting ??= new Promise<boolean>((resolve) => {
        if (exited || stopping !== undefined) return resolve(false);
        requests += 1;
        waiting.set(requests, resolve);
        // A write waits for the answer: until it comes, the worker keeps the process alive, or a
        // process with nothing else to wait for (a script, a benchmark) would exit mid-write.
        worker.ref();
        worker.postMessage({ restart: requests });
      }).finally(() => {
        restarting = undefined;
        // A restart that could not happen is not tried again before the next report.
        frames = 0;
      })),
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        if (exited) return resolve();
        worker.once('exit', () => resolve());
        // Unreferenced, it would let the process exit before it has closed its connections.
        worker.ref();
        worker.postMessage('stop');
      })),
  };
}
