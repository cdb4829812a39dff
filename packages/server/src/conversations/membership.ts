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
 * Adds a person to a group, with every rule of joining: profile complete, group chats allowed,
 * not blocked by them, room left. Appends `member-added`.
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
  await write.append(conversation.id, { type: 'member-added', actorId, member, via });
  return member;
}
