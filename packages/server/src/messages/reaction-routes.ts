import { type Message, ParleyError } from '@parley/protocol';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { ServerContext } from '../context.js';
import { requireMember } from '../conversations/access.js';
import { bindRoute } from '../http/bind.js';
import type { Database } from '../storage/schema.js';
import { chargeFlood, requireMessageRow } from './edit-routes.js';
import { requireNotBlockedInDirect } from './routes.js';
import { loadMessage } from './views.js';

/** Most different emoji one member may put on one message: bounds the rows a script can pile up. */
export const MAX_REACTIONS_PER_MEMBER = 20;

async function currentMessage(db: Kysely<Database>, conversationId: string, messageId: string): Promise<Message> {
  const message = await loadMessage(db, conversationId, messageId);
  if (!message) throw new Error(`message ${messageId} just read`);
  return message;
}

export function registerReactionRoutes(app: FastifyInstance, context: ServerContext): void {
  bindRoute(app, context, 'addReaction', async ({ auth, params }) =>
    context.log.writeTo(params.conversationId, async (write) => {
      const { db } = write;
      const { conversation } = await requireMember(db, params.conversationId, auth.userId);
      const row = await requireMessageRow(db, conversation.id, params.messageId);
      // CONFLICT, as for editing: the tombstone exists, its state refuses the change.
      if (row.deleted_at !== null) {
        throw new ParleyError('CONFLICT', 'this message was deleted and takes no reactions', { field: 'params.messageId' });
      }
      const mine = await db.selectFrom('reactions').select('emoji').where('message_id', '=', row.id).where('user_id', '=', auth.userId).execute();
      // Adding a reaction one already has changes nothing and tells no one.
      if (mine.some((reaction) => reaction.emoji === params.emoji)) return currentMessage(db, conversation.id, row.id);
      await requireNotBlockedInDirect(db, conversation, auth.userId);
      if (mine.length >= MAX_REACTIONS_PER_MEMBER) {
        throw new ParleyError('CONFLICT', `at most ${MAX_REACTIONS_PER_MEMBER} different reactions per message; take one back first`, {
          field: 'params.emoji',
        });
      }
      await chargeFlood(context, auth.userId);
      // The event first: the row keeps its seq, which orders reactions as everyone saw them arrive.
      const event = await write.append(conversation.id, {
        type: 'reaction-added',
        actorId: auth.userId,
        messageId: row.id,
        userId: auth.userId,
        emoji: params.emoji,
      });
      await db
        .insertInto('reactions')
        .values({ message_id: row.id, user_id: auth.userId, emoji: params.emoji, created_at: write.now, seq: event.seq })
        .execute();
      return currentMessage(db, conversation.id, row.id);
    }),
  );

  bindRoute(app, context, 'removeReaction', async ({ auth, params }) =>
    context.log.writeTo(params.conversationId, async (write) => {
      const { db } = write;
      const { conversation } = await requireMember(db, params.conversationId, auth.userId);
      const row = await requireMessageRow(db, conversation.id, params.messageId);
      // Taking back a reaction one does not have (or that a delete already swept away) is a
      // no-op, so a retry is safe. It is not charged: each removal follows a charged addition.
      const removed = await db
        .deleteFrom('reactions')
        .where('message_id', '=', row.id)
        .where('user_id', '=', auth.userId)
        .where('emoji', '=', params.emoji)
        .executeTakeFirst();
      const message = await currentMessage(db, conversation.id, row.id);
      if (Number(removed.numDeletedRows) > 0) {
        await write.append(conversation.id, {
          type: 'reaction-removed',
          actorId: auth.userId,
          messageId: row.id,
          userId: auth.userId,
          emoji: params.emoji,
          reactions: message.reactions,
        });
      }
      return message;
    }),
  );
}
