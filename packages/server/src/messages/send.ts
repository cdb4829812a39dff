import { type Message, ParleyError, type SendMessageRequestSchema } from '@parley/protocol';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { ServerContext } from '../context.js';
import { lockMember, notFound, requireMembership, requireNotBlockedInDirect } from '../conversations/access.js';
import { onSqlite, PreparedQuery } from '../storage/prepared.js';
import type { Database } from '../storage/schema.js';
import { isUniqueViolation } from '../storage/violations.js';
import { loadMessage, toAttachment } from './views.js';
import { appendMessages } from './write.js';

/** Where a message id is already stored, if it is: asked before every send on SQLite, and after a raced insert (see PreparedQuery). */
const storedAs = new PreparedQuery((db, p: { id: string }) => db.selectFrom('messages').select('conversation_id').where('id', '=', p.id));

function sameMessage(existing: Message, conversationId: string, authorId: string): Message {
  if (existing.conversationId !== conversationId || existing.authorId !== authorId) {
    throw new ParleyError('ID_CONFLICT', 'this message id is already used; choose a new one', { field: 'body.id' });
  }
  return existing;
}

/** The message stored under this id, when a send of it is a retry: the same sender and conversation, or ID_CONFLICT. */
async function storedMessage(reader: Kysely<Database>, id: string, conversationId: string, authorId: string): Promise<Message | undefined> {
  const stored = await storedAs.first(reader, { id });
  const existing = stored && (await loadMessage(reader, stored.conversation_id, id));
  return existing ? sameMessage(existing, conversationId, authorId) : undefined;
}

/** On PostgreSQL, the membership and where the id is stored in one round trip (see checkSend). */
const memberAndStoredAs = new PreparedQuery((db, p: { conversationId: string; userId: string; id: string }) =>
  db
    .selectFrom('members')
    .select((eb) => eb.selectFrom('messages').select('messages.conversation_id').where('messages.id', '=', p.id).as('stored_in'))
    .where('members.conversation_id', '=', p.conversationId)
    .where('members.user_id', '=', p.userId),
);

/**
 * NOT_FOUND unless the sender is a member; then the message already stored under the id, when
 * the send is a retry. Two point lookups on SQLite, one statement on PostgreSQL.
 */
async function checkSend(reader: Kysely<Database>, conversationId: string, userId: string, id: string): Promise<Message | undefined> {
  if (onSqlite(reader)) {
    await requireMembership(reader, conversationId, userId);
    return storedMessage(reader, id, conversationId, userId);
  }
  const row = await memberAndStoredAs.first(reader, { conversationId, userId, id });
  if (!row) throw notFound();
  const existing = row?.stored_in ? await loadMessage(reader, row.stored_in, id) : undefined;
  return existing ? sameMessage(existing, conversationId, userId) : undefined;
}

/**
 * A member sends a message: idempotent on its id, limited by the flood limit, checked (reply
 * target, attachments among the sender's uploads, not blocked in a direct conversation), then
 * written by `appendMessages`.
 */
export async function sendMessage(context: ServerContext, userId: string, conversationId: string, body: z.output<typeof SendMessageRequestSchema>): Promise<Message> {
  const { reader } = context.storage;
  // Membership first: a non-member learns nothing, not even whether a message id is taken. A
  // retry of a message already stored answers with it, without charging the flood limit.
  const stored = await checkSend(reader, conversationId, userId, body.id);
  if (stored) return stored;
  // The assistant's own output is limited per member who triggers it, not here [AT9].
  const { wait } = userId === context.assistant.userId ? { wait: 0 } : await context.limits.flood.take(userId);
  if (wait > 0) throw new ParleyError('RATE_LIMITED', 'you are sending messages too fast', { retryAfter: wait });

  const written = context.log.writeTo(conversationId, async (write) => {
    const { db } = write;
    // The lock comes first: the message's seq is last_seq + 1, and on PostgreSQL another node's
    // write could otherwise move last_seq between this read and the append.
    const { conversation } = await lockMember(write, conversationId, userId);
    await requireNotBlockedInDirect(db, conversation, userId);
    if (body.replyToId !== undefined) {
      const target = await db
        .selectFrom('messages')
        .select('id')
        .where('id', '=', body.replyToId)
        .where('conversation_id', '=', conversation.id)
        .executeTakeFirst();
      if (!target) throw new ParleyError('NOT_FOUND', 'the message replied to is not in this conversation', { field: 'body.replyToId' });
    }
    const attachmentIds = [...new Set(body.attachmentIds)];
    const uploads = attachmentIds.length
      ? await db.selectFrom('attachments').selectAll().where('id', 'in', attachmentIds).where('uploader_id', '=', userId).execute()
      : [];
    const attachments = attachmentIds.map((id, index) => {
      const upload = uploads.find((row) => row.id === id);
      if (!upload) throw new ParleyError('NOT_FOUND', 'no such attachment among your uploads', { field: `body.attachmentIds.${index}` });
      return toAttachment(upload);
    });
    const [message] = await appendMessages(write, { id: conversation.id, lastSeq: conversation.last_seq }, userId, [
      { id: body.id, authorId: userId, text: body.text, replyToId: body.replyToId ?? null, attachments },
    ]);
    if (!message) throw new Error('message just written');
    return message;
  });
  // A retry that raced its first send (on this node or another) finds the id taken when it
  // inserts; once the first has committed, it answers with the stored message. Rarer than a
  // check inside the write would be costly: that was a round trip on every send.
  return written.catch(async (error: unknown) => {
    if (!isUniqueViolation(error, 'messages')) throw error;
    const raced = await storedMessage(reader, body.id, conversationId, userId);
    if (!raced) throw error;
    return raced;
  });
}
