/**
 * Uploads that no message shows (yet). An account may hold only so many of them, and they do not
 * stay forever: a file uploaded and never sent is deleted `keepHours` later, row and bytes.
 */
import { ParleyError } from '@parley/protocol';
import type { ExpressionBuilder, Kysely } from 'kysely';
import type { ServerContext } from '../context.js';
import type { Database } from '../storage/schema.js';

/** An upload that no message shows. */
function notSent({ not, exists, selectFrom }: ExpressionBuilder<Database, 'attachments'>) {
  return not(exists(selectFrom('message_attachments').select('message_attachments.attachment_id').whereRef('message_attachments.attachment_id', '=', 'attachments.id')));
}

/** Unsent uploads of one account: how many, how many bytes, and when the oldest was uploaded. */
async function unsentOf(db: Kysely<Database>, userId: string): Promise<{ files: number; bytes: number; oldest: string | null }> {
  const row = await db
    .selectFrom('attachments')
    .select(({ fn }) => [fn.countAll<number>().as('files'), fn.sum<number>('size').as('bytes'), fn.min<string>('created_at').as('oldest')])
    .where('uploader_id', '=', userId)
    .where(notSent)
    .executeTakeFirstOrThrow();
  return { files: Number(row.files), bytes: Number(row.bytes ?? 0), oldest: row.oldest ?? null };
}

/**
 * Refuses an upload of `size` bytes that would take the account over its unsent files or bytes,
 * with RATE_LIMITED and the seconds until its oldest unsent upload expires. The byte limit is
 * never below the largest single upload.
 */
export async function checkUnsentRoom(context: Pick<ServerContext, 'config' | 'clock'>, db: Kysely<Database>, userId: string, size: number): Promise<void> {
  const limit = context.config.unsentUploads;
  const maxBytes = Math.max(limit.bytes, context.config.maxUploadBytes);
  const unsent = await unsentOf(db, userId);
  if (unsent.files + 1 <= limit.files && unsent.bytes + size <= maxBytes) return;
  const expires = unsent.oldest === null ? 0 : Date.parse(unsent.oldest) + limit.keepHours * 3_600_000 - context.clock.now().getTime();
  throw new ParleyError(
    'RATE_LIMITED',
    `you have ${unsent.files} uploaded files (${unsent.bytes} bytes) not sent in any message; send them, or wait until they expire ${limit.keepHours} h after their upload`,
    { retryAfter: Math.max(1, Math.ceil(expires / 1000)), details: { unsentFiles: unsent.files, unsentBytes: unsent.bytes, maxFiles: limit.files, maxBytes } },
  );
}

/** Deletes the unsent uploads older than `keepHours`, a batch at a time; returns how many went. */
export async function sweepUnsentUploads(context: Pick<ServerContext, 'config' | 'clock' | 'log' | 'files' | 'logger'>): Promise<number> {
  const cutoff = new Date(context.clock.now().getTime() - context.config.unsentUploads.keepHours * 3_600_000).toISOString();
  let removed = 0;
  for (;;) {
    const ids = await context.log.write(async ({ db }) => {
      const rows = await db
        .selectFrom('attachments')
        .select('id')
        .where('created_at', '<', cutoff)
        .where(notSent)
        .limit(500)
        .execute();
      const found = rows.map((row) => row.id);
      if (found.length > 0) await db.deleteFrom('attachments').where('id', 'in', found).execute();
      return found;
    });
    // The rows are gone (committed): their bytes can go.
    for (const id of ids) await context.files.remove('attachments', id).catch((error: unknown) => context.logger.error({ err: error, attachmentId: id }, 'could not remove an attachment file'));
    removed += ids.length;
    if (ids.length < 500) return removed;
  }
}

/** Sweeps every `everyMs` (and once at once) until stopped. */
export function startUnsentUploadSweeper(context: Pick<ServerContext, 'config' | 'clock' | 'log' | 'files' | 'logger'>, everyMs: number): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const sweep = () => {
    running = running.then(() => sweepUnsentUploads(context)).catch((error: unknown) => context.logger.error({ err: error }, 'could not sweep unsent uploads'));
  };
  sweep();
  const timer = setInterval(sweep, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
