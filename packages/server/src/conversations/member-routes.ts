import { ParleyError } from '@parley/protocol';
import type { FastifyInstance } from 'fastify';
import { LimitStore } from '../abuse/limits.js';
import { getUserByUsername } from '../accounts/users.js';
import type { ServerContext } from '../context.js';
import { bindRoute } from '../http/bind.js';
import { requireGroup, requireMember, requireMembership } from './access.js';
import { admitMember, removeMember } from './membership.js';
import { loadMembers, unreadCounts } from './views.js';

/** How long a typing indicator shows unless renewed; the socket's `typing` frame uses the same. */
const TYPING_TTL_MS = 6_000;

export function registerMemberRoutes(app: FastifyInstance, context: ServerContext): void {
  const { reader } = context.storage;
  // One typing signal a second per person and conversation: enough for an indicator, too few to flood.
  const typingLimit = LimitStore.memory().limit('typing', { points: 1, seconds: 1 });

  bindRoute(app, context, 'listMembers', async ({ auth, params }) => {
    await requireMembership(reader, params.conversationId, auth.userId);
    const members = await loadMembers(reader, [params.conversationId], auth.userId);
    return { members: members.get(params.conversationId) ?? [] };
  });

  bindRoute(app, context, 'addMember', async ({ auth, params, body }) => {
    const members = await context.log.writeTo(params.conversationId, async (write) => {
      const { conversation } = await requireMember(write.db, params.conversationId, auth.userId);
      requireGroup(conversation);
      const user = await getUserByUsername(write.db, body.username, 'body.username');
      await admitMember(write, { conversation, user, actorId: auth.userId, via: 'username', field: 'body.username' });
      return loadMembers(write.db, [conversation.id], auth.userId);
    });
    return { members: members.get(params.conversationId) ?? [] };
  });

  bindRoute(app, context, 'removeMember', async ({ auth, params }) => {
    await context.log.writeTo(params.conversationId, async (write) => {
      const { conversation } = await requireMember(write.db, params.conversationId, auth.userId);
      requireGroup(conversation);
      await removeMember(write, { conversation, actorId: auth.userId, userId: params.userId });
    });
  });

  bindRoute(app, context, 'leaveConversation', async ({ auth, params }) => {
    await context.log.writeTo(params.conversationId, async (write) => {
      const { conversation, member } = await requireMember(write.db, params.conversationId, auth.userId);
      requireGroup(conversation);
      if (member.role === 'assistant') throw new ParleyError('FORBIDDEN', 'the assistant does not leave a group');
      await write.db
        .deleteFrom('members')
        .where('conversation_id', '=', conversation.id)
        .where('user_id', '=', auth.userId)
        .execute();
      await write.append(conversation.id, { type: 'member-left', actorId: auth.userId, userId: auth.userId });
    });
  });

  bindRoute(app, context, 'updateMySettings', async ({ auth, params, body }) => {
    return context.log.writeTo(params.conversationId, async (write) => {
      const { member } = await requireMember(write.db, params.conversationId, auth.userId);
      if (member.notifications !== body.notifications) {
        await write.db
          .updateTable('members')
          .set({ notifications: body.notifications })
          .where('conversation_id', '=', params.conversationId)
          .where('user_id', '=', auth.userId)
          .execute();
        // A private setting: not in the conversation's log, only on the member's own sockets.
        write.afterCommit(() =>
          context.bus.publish({
            kind: 'user',
            userId: auth.userId,
            event: { type: 'my-settings-updated', conversationId: params.conversationId, notifications: body.notifications },
          }),
        );
      }
      const unread = await unreadCounts(write.db, auth.userId, [params.conversationId]);
      return { notifications: body.notifications, unreadCount: unread.get(params.conversationId) ?? 0 };
    });
  });

  /**
   * The read marker only moves forward. A sequence number beyond the conversation's last is
   * refused: no client can have seen it. A move that passes no message is ignored, because
   * `read-marker-updated` is itself an event: clients that mark read on every event would
   * otherwise answer each other's markers for ever.
   */
  bindRoute(app, context, 'markRead', async ({ auth, params, body }) => {
    return context.log.writeTo(params.conversationId, async (write) => {
      const { conversation, member } = await requireMember(write.db, params.conversationId, auth.userId);
      if (body.seq > conversation.last_seq) {
        throw new ParleyError('INVALID_INPUT', `body.seq: the conversation ends at ${conversation.last_seq}`, { field: 'body.seq' });
      }
      if (body.seq > member.last_read_seq) {
        const passed = await write.db
          .selectFrom('messages')
          .select('id')
          .where('conversation_id', '=', conversation.id)
          .where('seq', '>', member.last_read_seq)
          .where('seq', '<=', body.seq)
          .limit(1)
          .executeTakeFirst();
        if (passed) {
          await write.db
            .updateTable('members')
            .set({ last_read_seq: body.seq })
            .where('conversation_id', '=', conversation.id)
            .where('user_id', '=', auth.userId)
            .execute();
          await write.append(conversation.id, {
            type: 'read-marker-updated',
            actorId: auth.userId,
            userId: auth.userId,
            lastReadSeq: body.seq,
          });
        }
      }
      const unread = await unreadCounts(write.db, auth.userId, [conversation.id]);
      return { notifications: member.notifications, unreadCount: unread.get(conversation.id) ?? 0 };
    });
  });

  bindRoute(app, context, 'sendTyping', async ({ auth, params }) => {
    await requireMembership(reader, params.conversationId, auth.userId);
    // Over the limit, the signal is dropped rather than refused: the indicator is still showing.
    if ((await typingLimit.take(`${auth.userId}:${params.conversationId}`)).wait > 0) return;
    const now = context.clock.now().getTime();
    context.bus.publish({
      kind: 'typing',
      event: {
        type: 'member-typing',
        conversationId: params.conversationId,
        userId: auth.userId,
        until: new Date(now + TYPING_TTL_MS).toISOString(),
      },
    });
  });
}
