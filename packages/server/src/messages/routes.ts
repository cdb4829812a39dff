import { type Message, ParleyError, mentionedUsernames } from '@parley/protocol';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { ServerContext } from '../context.js';
import { blockedEitherWay, requireMember } from '../conversations/access.js';
import type { ConversationRow } from '../conversations/views.js';
import { bindRoute } from '../http/bind.js';
import type { Database } from '../storage/schema.js';
import { loadMessage, toMessages } from './views.js';

/** Member ids for the `@usernames` in a text. */
export async function resolveMentions(db: Kysely<Database>, conversationId: string, text: string): Promise<string[]> {
  const usernames = mentionedUsernames(text);
  if (usernames.length === 0) return [];
  const rows = await db
    .selectFrom('members')
    .innerJoin('users', 'users.id', 'members.user_id')
    .select(['users.id', 'users.username'])
    .where('members.conversation_id', '=', conversationId)
    .where('users.username', 'in', usernames)
    .execute();
  const byName = new Map(rows.map((row) => [row.username, row.id]));
  return usernames.flatMap((name) => byName.get(name) ?? []);
}

/** In a direct conversation, neither person may message the other once either blocked them. */
export async function requireNotBlockedInDirect(db: Kysely<Database>, conversation: ConversationRow, userId: string): Promise<void> {
  if (conversation.kind !== 'direct') return;
  const other = await db
    .selectFrom('members')
    .select('user_id')
    .where('conversation_id', '=', conversation.id)
    .where('user_id', '!=', userId)
    .executeTakeFirst();
  if (other && (await blockedEitherWay(db, userId, other.user_id))) {
    throw new ParleyError('BLOCKED', 'you cannot message this person');
  }
}

function sameMessage(existing: Message, conversationId: string, authorId: string): Message {
  if (existing.conversationId !== conversationId || existing.authorId !== authorId) {
    throw new ParleyError('ID_CONFLICT', 'this message id is already used; choose a new one', { field: 'body.id' });
  }
  return existing;
}

export function registerMessageRoutes(app: FastifyInstance, context: ServerContext): void {
  const { reader } = context.storage;

  bindRoute(app, context, 'listMessages', async ({ auth, params, query }) => {
    await requireMember(reader, params.conversationId, auth.userId);
    let rows = reader.selectFrom('messages').selectAll().where('conversation_id', '=', params.conversationId);
    if (query.before !== undefined) rows = rows.where('seq', '<', query.before);
    const page = await rows.orderBy('seq', 'desc').limit(query.limit + 1).execute();
    const more = page.length > query.limit;
    const kept = page.slice(0, query.limit).reverse();
    return { messages: await toMessages(reader, kept, auth.userId), nextBefore: more && kept[0] ? kept[0].seq : null };
  });

  bindRoute(app, context, 'sendMessage', async ({ auth, params, body }) => {
    // Membership first: a non-member learns nothing, not even whether a message id is taken.
    await requireMember(reader, params.conversationId, auth.userId);
    // A retry of a message already stored answers with it, without charging the flood limit.
    const stored = await reader.selectFrom('messages').select('conversation_id').where('id', '=', body.id).executeTakeFirst();
    if (stored) {
      const existing = await loadMessage(reader, stored.conversation_id, body.id);
      if (existing) return sameMessage(existing, params.conversationId, auth.userId);
    }
    // The assistant's own output is limited per member who triggers it, not here [AT9].
    const { wait } = auth.userId === context.assistant.userId ? { wait: 0 } : await context.limits.flood.take(auth.userId);
    if (wait > 0) throw new ParleyError('RATE_LIMITED', 'you are sending messages too fast', { retryAfter: wait });

    return context.log.writeTo(params.conversationId, async (write) => {
      const { db } = write;
      // Taken first: the message's seq is last_seq + 1, and on PostgreSQL another node's write
      // could otherwise move last_seq between this read and the append. It also makes a retry
      // racing on another node wait, then find the stored message below.
      await write.lock(params.conversationId);
      const { conversation } = await requireMember(db, params.conversationId, auth.userId);
      const raced = await db.selectFrom('messages').select('conversation_id').where('id', '=', body.id).executeTakeFirst();
      if (raced) {
        const existing = await loadMessage(db, raced.conversation_id, body.id);
        if (existing) return sameMessage(existing, params.conversationId, auth.userId);
      }
      await requireNotBlockedInDirect(db, conversation, auth.userId);
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
      const attachments = attachmentIds.length
        ? await db.selectFrom('attachments').selectAll().where('id', 'in', attachmentIds).where('uploader_id', '=', auth.userId).execute()
        : [];
      for (const [index, id] of attachmentIds.entries()) {
        if (!attachments.some((row) => row.id === id)) {
          throw new ParleyError('NOT_FOUND', 'no such attachment among your uploads', { field: `body.attachmentIds.${index}` });
        }
      }
      const mentions = await resolveMentions(db, conversation.id, body.text);
      const seq = conversation.last_seq + 1;
      const row = {
        id: body.id,
        conversation_id: conversation.id,
        seq,
        author_id: auth.userId,
        text: body.text,
        mentions: JSON.stringify(mentions),
        reply_to_id: body.replyToId ?? null,
        created_at: write.now,
        edited_at: null,
        deleted_at: null,
        turn_id: null,
        turn_status: null,
        turn_error: null,
      };
      await db.insertInto('messages').values(row).execute();
      if (attachmentIds.length > 0) {
        await db
          .insertInto('message_attachments')
          .values(attachmentIds.map((id, position) => ({ message_id: body.id, attachment_id: id, conversation_id: conversation.id, position })))
          .execute();
      }
      const [message] = await toMessages(db, [row]);
      if (!message) throw new Error('message just written');
      const event = await write.append(conversation.id, { type: 'message-created', actorId: auth.userId, message });
      if (event.seq !== seq) throw new Error(`message seq ${seq} does not match its event ${event.seq}`);
      return message;
    });
  });
}
