import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../logger.js';

/**
 * The worker's code, as a CommonJS script: it opens its own connection to the database and copies
 * the write-ahead log back into the database file on a timer.
 */
const source = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const database = new Database(workerData.file);
database.pragma('busy_timeout = 5000');
database.pragma('synchronous = ' + workerData.synchronous);
const checkpoint = () => {
  try {
    database.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage({ error: String(error) });
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  database.close();
  parentPort.close();
});
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

/**
 * SQLite copies its write-ahead log into the database file (a checkpoint, with its own fsync)
 * inside whichever commit crosses the log's size limit, so one write in every few hundred
 * stalls the event loop for milliseconds. A worker thread with its own connection does it
 * instead, in the background (PASSIVE: it never blocks the writer); the writer's own automatic
 * checkpoint stays as a backstop at a higher limit, for a log the worker cannot keep short.
 */
export function startCheckpointer(options: { file: string; synchronous: string; logger: Logger; intervalMs?: number }): Checkpointer {
  const { logger } = options;
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(source, {
    eval: true,
    workerData: { driver, file: options.file, synchronous: options.synchronous, intervalMs: options.intervalMs ?? 50 },
  });
  worker.on('message', (message: { error?: string }) => {
    if (message.error) logger.error({ error: message.error }, 'sqlite checkpoint failed');
  });
  worker.on('error', (error) => logger.error({ err: error }, 'sqlite checkpointer stopped'));
  // It must not keep the process alive on its own.
  worker.unref();
  let stopping: Promise<void> | undefined;
  return {
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        // Unreferenced, it would let the process exit before it has closed its connection.
        worker.ref();
        worker.postMessage('stop');
      })),
  };
}
