import type { Attachment } from '@parley/protocol';
import type { WriteContext } from '../events/event-log.js';
import { newId } from '../ids/ids.js';
import { toAttachment } from '../messages/views.js';
import { appendMessages, type NewMessage } from '../messages/write.js';

/**
 * Rows copied per round: bounded memory, and few enough bound values per statement for SQLite
 * (13 columns × 200 rows) and PostgreSQL.
 */
const COPY_CHUNK = 200;

/**
 * Copies the messages of `sourceId` up to `upTo` into `targetId`, oldest first, each as a new
 * message with its own `message-created` event. Deleted messages and reactions are not copied;
 * authors, texts, times and attachments are; mentions are resolved again among the new group's
 * members; a reply keeps its target only when that target was copied. The events' actor is the
 * person who started the group (they caused the copy), while each message keeps its author.
 */
export async function copyMessages(
  write: WriteContext,
  options: { sourceId: string; targetId: string; upTo: number; actorId: string },
): Promise<number> {
  const { sourceId, targetId, upTo, actorId } = options;
  const { db } = write;
  const newIds = new Map<string, string>();
  let after = 0;
  let copied = 0;
  for (;;) {
    const sources = await db
      .selectFrom('messages')
      .selectAll()
      .where('conversation_id', '=', sourceId)
      .where('seq', '>', after)
      .where('seq', '<=', upTo)
      .where('deleted_at', 'is', null)
      .orderBy('seq')
      .limit(COPY_CHUNK)
      .execute();
    const last = sources.at(-1);
    if (!last) break;
    after = last.seq;

    const sourceLinks = await db
      .selectFrom('message_attachments')
      .innerJoin('attachments', 'attachments.id', 'message_attachments.attachment_id')
      .selectAll('attachments')
      .select(['message_attachments.message_id', 'message_attachments.position'])
      .where(
        'message_attachments.message_id',
        'in',
        sources.map((row) => row.id),
      )
      .orderBy('message_attachments.position')
      .execute();
    const attachmentsOf = new Map<string, Attachment[]>();
    for (const link of sourceLinks) {
      const list = attachmentsOf.get(link.message_id) ?? [];
      list.push(toAttachment(link));
      attachmentsOf.set(link.message_id, list);
    }

    await write.lock(targetId);
    const { last_seq: lastSeq } = await db.selectFrom('conversations').select('last_seq').where('id', '=', targetId).executeTakeFirstOrThrow();
    const copies = sources.map((source): NewMessage => {
      const id = newId();
      newIds.set(source.id, id);
      return {
        id,
        authorId: source.author_id,
        text: source.text,
        // Replies point back in time, so a copied target already has its new id here.
        replyToId: source.reply_to_id !== null ? (newIds.get(source.reply_to_id) ?? null) : null,
        attachments: attachmentsOf.get(source.id) ?? [],
        createdAt: source.created_at,
        editedAt: source.edited_at,
        // An assistant's answer keeps how it ended (a stopped or failed answer still shows so).
        ...(source.turn_id !== null && source.turn_status !== null ? { turn: { id: source.turn_id, status: source.turn_status, error: source.turn_error } } : {}),
      };
    });
    await appendMessages(write, { id: targetId, lastSeq }, actorId, copies);
    copied += copies.length;
    if (sources.length < COPY_CHUNK) break;
  }
  return copied;
}
