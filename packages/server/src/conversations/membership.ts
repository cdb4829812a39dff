import { type Member, ParleyError } from '@parley/protocol';
import { toUserSummary, type UserRow } from '../accounts/users.js';
import { requireGroupReady } from '../accounts/users.js';
import type { Kysely } from 'kysely';
import type { WriteContext } from '../events/event-log.js';
import type { Database } from '../storage/schema.js';
import { hasBlocked } from './access.js';
import type { ConversationRow } from './views.js';

/** People in a conversation: the assistant is a member but takes no seat [AS2]. */
export async function memberCount(db: Kysely<Database>, conversationId: string): Promise<number> {
  const row = await db
    .selectFrom('members')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('conversation_id', '=', conversationId)
    .where('role', '!=', 'assistant')
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/**
 * Refuses a person whom a member removed from the group: no invite link lets them back, old or
 * new, whoever made it [MB1]–[MB2]. The refusal names no more of the group than a stranger's
 * preview would ([MB3]: nothing at all).
 */
export async function requireNotRemoved(db: Kysely<Database>, conversationId: string, userId: string): Promise<void> {
  const removal = await db
    .selectFrom('removals')
    .select('user_id')
    .where('conversation_id', '=', conversationId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (removal) {
    throw new ParleyError('REMOVED_FROM_GROUP', 'you were removed from this group; only a member can add you back', { field: 'params.token' });
  }
}

/**
 * Adds a person to a group, with every rule of joining: profile complete, group chats allowed,
 * not blocked by them, room left, not removed when coming by link [MB1]. Appends `member-added`;
 * added by username, a removed person is let back in and the removal is forgotten [MB4].
 */
export async function admitMember(
  write: WriteContext,
  options: { conversation: ConversationRow; user: UserRow; actorId: string; via: 'username' | 'invite'; field?: string },
): Promise<Member> {
  const { conversation, user, actorId, via } = options;
  const field = options.field;
  const existing = await write.db
    .selectFrom('members')
    .select('user_id')
    .where('conversation_id', '=', conversation.id)
    .where('user_id', '=', user.id)
    .executeTakeFirst();
  if (existing) throw new ParleyError('ALREADY_MEMBER', `@${user.username} is already a member`, field ? { field } : {});
  if (via === 'invite') await requireNotRemoved(write.db, conversation.id, user.id);
  requireGroupReady(user, field ?? (actorId === user.id ? undefined : 'body.username'));
  if (actorId !== user.id && (await hasBlocked(write.db, user.id, actorId))) {
    throw new ParleyError('BLOCKED', `@${user.username} cannot be added by you`, field ? { field } : {});
  }
  if ((await memberCount(write.db, conversation.id)) >= conversation.member_limit) {
    throw new ParleyError('GROUP_FULL', `the group is full (${conversation.member_limit} people)`);
  }
  const member: Member = {
    userId: user.id,
    user: toUserSummary(user),
    role: 'member',
    joinedAt: write.now,
    lastReadSeq: 0,
  };
  await write.db
    .insertInto('members')
    .values({
      conversation_id: conversation.id,
      user_id: user.id,
      role: 'member',
      joined_at: write.now,
      last_read_seq: 0,
      notifications: 'all',
    })
    .execute();
  if (via === 'username') {
    await write.db.deleteFrom('removals').where('conversation_id', '=', conversation.id).where('user_id', '=', user.id).execute();
  }
  await write.append(conversation.id, { type: 'member-added', actorId, member, via });
  return member;
}

/**
 * A member removes another from a group [MB1]: the member row goes, the removal stays on record
 * (so no link lets them back), the links they made stop working, and `member-removed` is appended.
 */
export async function removeMember(write: WriteContext, options: { conversation: ConversationRow; actorId: string; userId: string }): Promise<void> {
  const { conversation, actorId } = options;
  if (options.userId === actorId) {
    throw new ParleyError('INVALID_INPUT', 'to remove yourself, leave the group instead', { field: 'params.userId' });
  }
  const target = await write.db
    .selectFrom('members')
    .select(['user_id', 'role'])
    .where('conversation_id', '=', conversation.id)
    .where('user_id', '=', options.userId)
    .executeTakeFirst();
  if (!target) throw new ParleyError('NOT_FOUND', 'no such member in this group', { field: 'params.userId' });
  if (target.role === 'assistant') {
    throw new ParleyError('FORBIDDEN', "the assistant cannot be removed; set the group's assistant to answer only when mentioned instead", {
      field: 'params.userId',
    });
  }
  // `created_by` as well as the role: a creator who left and came back is still the creator.
  if (target.role === 'creator' || conversation.created_by === target.user_id) {
    throw new ParleyError('CREATOR_CANNOT_BE_REMOVED', 'the creator of a group cannot be removed', { field: 'params.userId' });
  }
  await write.db.deleteFrom('members').where('conversation_id', '=', conversation.id).where('user_id', '=', target.user_id).execute();
  await write.db
    .insertInto('removals')
    .values({ conversation_id: conversation.id, user_id: target.user_id, removed_by: actorId, removed_at: write.now })
    .onConflict((conflict) => conflict.columns(['conversation_id', 'user_id']).doUpdateSet({ removed_by: actorId, removed_at: write.now }))
    .execute();
  // The links a removed member made stop working, so they cannot let others in on their behalf.
  await write.db
    .updateTable('invites')
    .set({ revoked_at: write.now })
    .where('conversation_id', '=', conversation.id)
    .where('created_by', '=', target.user_id)
    .where('revoked_at', 'is', null)
    .execute();
  await write.append(conversation.id, { type: 'member-removed', actorId, userId: target.user_id });
}
