import fs from 'node:fs';
import { ParleyError } from '@parley/protocol';
import type { ServerContext } from '../context.js';

/**
 * Refuses a new write while the database is behind (http/SPEC.md [PB7]): what was admitted
 * finishes, and the caller is told to come back rather than waiting in a queue that only grows.
 * A write is idempotent by its id, so sending it again after Retry-After is safe.
 */
export function refuseWhenBehind(context: ServerContext): void {
  const behind = context.log.backlogMs();
  if (behind <= context.config.maxWriteWaitMs) return;
  throw new ParleyError('UNAVAILABLE', 'the server is busy: try again in a moment', {
    retryAfter: Math.max(1, Math.ceil(behind / 1000)),
    details: { reason: 'overloaded' },
  });
}

/**
 * The most connections to hold open: nine tenths of the soft open-file limit, less 64, so that
 * a flood of connections can never take the descriptors the database, uploads and apps need
 * (SQLite answered "unable to open database file" once the process ran out). Node raises the
 * soft limit to the hard one when it starts. Linux tells the limit in /proc; elsewhere, no bound.
 */
export function connectionLimit(limitsFile = '/proc/self/limits'): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(limitsFile, 'utf8');
  } catch {
    return undefined;
  }
  const soft = /^Max open files\s+(\d+|unlimited)/m.exec(text)?.[1];
  if (soft === undefined || soft === 'unlimited') return undefined;
  return Math.max(16, Math.floor(Number(soft) * 0.9) - 64);
}
