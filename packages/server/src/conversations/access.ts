import { ParleyError } from '@parley/protocol';
import type { Kysely } from 'kysely';
import type { Database } from '../storage/schema.js';
import type { ConversationRow, MemberRow } from './views.js';

/**
 * The conversation and the caller's membership, or NOT_FOUND: a non-member cannot tell a
 * conversation that exists from one that does not.
 */
export async function requireMember(
  db: Kysely<Database>,
  conversationId: string,
  userId: string,
): Promise<{ conversation: ConversationRow; member: MemberRow }> {
  // One statement, not two: nearly every request of a member starts here.
  const row = await db
    .selectFrom('members')
    .innerJoin('conversations', 'conversations.id', 'members.conversation_id')
    .selectAll('conversations')
    .select([
      'members.role as member_role',
      'members.joined_at as member_joined_at',
      'members.last_read_seq as member_last_read_seq',
      'members.notifications as member_notifications',
    ])
    .where('members.conversation_id', '=', conversationId)
    .where('members.user_id', '=', userId)
    .executeTakeFirst();
  if (!row) throw new ParleyError('NOT_FOUND', 'no such conversation', { field: 'params.conversationId' });
  const { member_role: role, member_joined_at: joinedAt, member_last_read_seq: lastReadSeq, member_notifications: notifications, ...conversation } = row;
  return {
    conversation,
    member: { conversation_id: conversationId, user_id: userId, role, joined_at: joinedAt, last_read_seq: lastReadSeq, notifications },
  };
}

export function requireGroup(conversation: ConversationRow): void {
  if (conversation.kind !== 'group') {
    throw new ParleyError('FORBIDDEN', `this is a ${conversation.kind} conversation, not a group`, {
      field: 'params.conversationId',
    });
  }
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

/** Whether either of two accounts blocked the other. */
export async function blockedEitherWay(db: Kysely<Database>, a: string, b: string): Promise<boolean> {
  const row = await db
    .selectFrom('blocks')
    .select('blocker_id')
    .where((eb) =>
      eb.or([
        eb.and([eb('blocker_id', '=', a), eb('blocked_id', '=', b)]),
        eb.and([eb('blocker_id', '=', b), eb('blocked_id', '=', a)]),
      ]),
    )
    .executeTakeFirst();
  return row !== undefined;
}

/** Whether `blocker` blocked `blocked`. */
export async function hasBlocked(db: Kysely<Database>, blocker: string, blocked: string): Promise<boolean> {
  const row = await db
    .selectFrom('blocks')
    .select('blocker_id')
    .where('blocker_id', '=', blocker)
    .where('blocked_id', '=', blocked)
    .executeTakeFirst();
  return row !== undefined;
}
