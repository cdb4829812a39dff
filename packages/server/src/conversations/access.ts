import { ParleyError } from '@parley/protocol';
import type { Kysely } from 'kysely';
import { onSqlite, PreparedQuery } from '../storage/prepared.js';
import type { Database } from '../storage/schema.js';
import type { ConversationRow, MemberRow } from './views.js';

/**
 * The conversation and the caller's membership, or NOT_FOUND: a non-member cannot tell a
 * conversation that exists from one that does not.
 */
/** What a non-member is told, whether or not the conversation exists. */
export function notFound(): ParleyError {
  return new ParleyError('NOT_FOUND', 'no such conversation', { field: 'params.conversationId' });
}

/** The member's row joined to the conversation's: one statement, one round trip on PostgreSQL. */
function joinedMember(db: Kysely<Database>, p: { conversationId: string; userId: string }) {
  return db
    .selectFrom('members')
    .innerJoin('conversations', 'conversations.id', 'members.conversation_id')
    .selectAll('conversations')
    .select([
      'members.role as member_role',
      'members.joined_at as member_joined_at',
      'members.last_read_seq as member_last_read_seq',
      'members.notifications as member_notifications',
    ])
    .where('members.conversation_id', '=', p.conversationId)
    .where('members.user_id', '=', p.userId);
}
const memberWithConversation = new PreparedQuery(joinedMember);
/** memberWithConversation, holding the conversation's row until the commit (see WriteContext.lock). */
const lockedMemberWithConversation = new PreparedQuery((db, p: { conversationId: string; userId: string }) => joinedMember(db, p).forNoKeyUpdate('conversations'));
const memberOnly = new PreparedQuery((db, p: { conversationId: string; userId: string }) =>
  db.selectFrom('members').selectAll().where('conversation_id', '=', p.conversationId).where('user_id', '=', p.userId),
);
const conversationOnly = new PreparedQuery((db, p: { id: string }) => db.selectFrom('conversations').selectAll().where('id', '=', p.id));

/**
 * The conversation and the caller's membership, or NOT_FOUND: a non-member cannot tell a
 * conversation that exists from one that does not. Nearly every request of a member starts here:
 * one joined statement on PostgreSQL (one round trip), two point lookups on SQLite (cheaper there).
 */
export async function requireMember(
  db: Kysely<Database>,
  conversationId: string,
  userId: string,
): Promise<{ conversation: ConversationRow; member: MemberRow }> {
  return readMember(db, conversationId, userId, memberWithConversation);
}

/**
 * `write.lock(conversationId)` and then `requireMember`, in one statement on PostgreSQL (a round
 * trip fewer on the hottest write, a send): the member's row joined to the conversation's, which
 * stays locked until the commit, read as it is once the lock is held (READ COMMITTED reads a
 * locked row again), so its `last_seq` is the one the next append follows. A non-member locks
 * nothing. SQLite has a single writer and takes no lock.
 */
export async function lockMember(
  write: { db: Kysely<Database> },
  conversationId: string,
  userId: string,
): Promise<{ conversation: ConversationRow; member: MemberRow }> {
  return readMember(write.db, conversationId, userId, lockedMemberWithConversation);
}

async function readMember(
  db: Kysely<Database>,
  conversationId: string,
  userId: string,
  joined: typeof memberWithConversation,
): Promise<{ conversation: ConversationRow; member: MemberRow }> {
  if (onSqlite(db)) {
    const member = await memberOnly.first(db, { conversationId, userId });
    const conversation = member && (await conversationOnly.first(db, { id: conversationId }));
    if (!member || !conversation) throw notFound();
    return { conversation, member };
  }
  const row = await joined.first(db, { conversationId, userId });
  if (!row) throw notFound();
  const { member_role: role, member_joined_at: joinedAt, member_last_read_seq: lastReadSeq, member_notifications: notifications, ...conversation } = row;
  return {
    conversation,
    member: { conversation_id: conversationId, user_id: userId, role, joined_at: joinedAt, last_read_seq: lastReadSeq, notifications },
  };
}

const membership = new PreparedQuery((db, p: { conversationId: string; userId: string }) =>
  // Read from the primary key's index alone: no row of either table is visited.
  db.selectFrom('members').select('user_id').where('conversation_id', '=', p.conversationId).where('user_id', '=', p.userId),
);

/** NOT_FOUND unless the caller is a member: for a check ahead of a write that reads the rows again under its lock. */
export async function requireMembership(db: Kysely<Database>, conversationId: string, userId: string): Promise<void> {
  if (!(await membership.first(db, { conversationId, userId }))) throw notFound();
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
