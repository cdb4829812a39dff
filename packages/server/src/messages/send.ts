import { type Message, ParleyError, type SendMessageRequestSchema } from '@parley/protocol';
import type { z } from 'zod';
import type { ServerContext } from '../context.js';
import { requireMember, requireMembership, requireNotBlockedInDirect } from '../conversations/access.js';
import { PreparedQuery } from '../storage/prepared.js';
import { loadMessage, toAttachment } from './views.js';
import { appendMessages } from './write.js';

/** Where a message id is already stored, if it is: asked twice by every send (see PreparedQuery). */
const storedAs = new PreparedQuery((db, p: { id: string }) => db.selectFrom('messages').select('conversation_id').where('id', '=', p.id));

function sameMessage(existing: Message, conversationId: string, authorId: string): Message {
  if (existing.conversationId !== conversationId || existing.authorId !== authorId) {
    throw new ParleyError('ID_CONFLICT', 'this message id is already used; choose a new one', { field: 'body.id' });
  }
  return existing;
}

/**
 * A member sends a message: idempotent on its id, limited by the flood limit, checked (reply
 * target, attachments among the sender's uploads, not blocked in a direct conversation), then
 * written by `appendMessages`.
 */
export async function sendMessage(context: ServerContext, userId: string, conversationId: string, body: z.output<typeof SendMessageRequestSchema>): Promise<Message> {
  const { reader } = context.storage;
  // Membership first: a non-member learns nothing, not even whether a message id is taken.
  await requireMembership(reader, conversationId, userId);
  // A retry of a message already stored answers with it, without charging the flood limit.
  const stored = await storedAs.first(reader, { id: body.id });
  if (stored) {
    const existing = await loadMessage(reader, stored.conversation_id, body.id);
    if (existing) return sameMessage(existing, conversationId, userId);
  }
  // The assistant's own output is limited per member who triggers it, not here [AT9].
  const { wait } = userId === context.assistant.userId ? { wait: 0 } : await context.limits.flood.take(userId);
  if (wait > 0) throw new ParleyError('RATE_LIMITED', 'you are sending messages too fast', { retryAfter: wait });

  return context.log.writeTo(conversationId, async (write) => {
    const { db } = write;
    // Taken first: the message's seq is last_seq + 1, and on PostgreSQL another node's write
    // could otherwise move last_seq between this read and the append. It also makes a retry
    // racing on another node wait, then find the stored message below.
    await write.lock(conversationId);
    const { conversation } = await requireMember(db, conversationId, userId);
    const raced = await storedAs.first(db, { id: body.id });
    if (raced) {
      const existing = await loadMessage(db, raced.conversation_id, body.id);
      if (existing) return sameMessage(existing, conversationId, userId);
    }
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
}
