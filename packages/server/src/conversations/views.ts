import type { AssistantSettings, Conversation, ConversationView, Member } from '@parley/protocol';
import { type Kysely, type Selectable, sql } from 'kysely';
import { toUserSummary } from '../accounts/users.js';
import { type BlockedProfiles, blockedBy, memberAsSeen } from '../blocking/withhold.js';
import { toMessages } from '../messages/views.js';
import type { ConversationsTable, Database, MembersTable } from '../storage/schema.js';

export type ConversationRow = Selectable<ConversationsTable>;
export type MemberRow = Selectable<MembersTable>;

export const DEFAULT_ASSISTANT: AssistantSettings = { name: 'Parley', personality: '', mode: 'auto', talkativeness: 0.5 };

export function toConversation(row: ConversationRow): Conversation {
  return {
    id: row.id,
    kind: row.kind,
    title: row.title,
    createdBy: row.created_by,
    createdAt: row.created_at,
    lastSeq: row.last_seq,
    memberLimit: row.member_limit,
    assistant:
      row.kind === 'direct'
        ? null
        : {
            name: row.assistant_name ?? DEFAULT_ASSISTANT.name,
            personality: row.assistant_personality ?? DEFAULT_ASSISTANT.personality,
            mode: row.assistant_mode ?? DEFAULT_ASSISTANT.mode,
            talkativeness: row.assistant_talkativeness ?? DEFAULT_ASSISTANT.talkativeness,
          },
    forkedFrom:
      row.forked_from_id !== null && row.forked_from_seq !== null
        ? { conversationId: row.forked_from_id, seq: row.forked_from_seq }
        : null,
  };
}

/** Members of conversations; with `viewerId`, as that reader sees them (blocked accounts' profiles as at the block). */
export async function loadMembers(db: Kysely<Database>, conversationIds: string[], viewerId?: string): Promise<Map<string, Member[]>> {
  const result = new Map<string, Member[]>();
  if (conversationIds.length === 0) return result;
  const blocked: BlockedProfiles = viewerId === undefined ? new Map() : await blockedBy(db, viewerId);
  const rows = await db
    .selectFrom('members')
    .innerJoin('users', 'users.id', 'members.user_id')
    .selectAll('users')
    .select(['members.conversation_id', 'members.role', 'members.joined_at', 'members.last_read_seq'])
    .where('members.conversation_id', 'in', conversationIds)
    // People first, in the order they joined; the assistant last.
    .orderBy(sql`case when members.role = 'assistant' then 1 else 0 end`)
    .orderBy('members.joined_at')
    .orderBy('users.username')
    .execute();
  for (const row of rows) {
    const list = result.get(row.conversation_id) ?? [];
    const member: Member = { userId: row.id, user: toUserSummary(row), role: row.role, joinedAt: row.joined_at, lastReadSeq: row.last_read_seq };
    list.push(memberAsSeen(member, blocked));
    result.set(row.conversation_id, list);
  }
  return result;
}

/** Unread messages per conversation: others' messages after the member's read marker. */
export async function unreadCounts(db: Kysely<Database>, userId: string, conversationIds: string[]): Promise<Map<string, number>> {
  const result = new Map<string, number>();
  if (conversationIds.length === 0) return result;
  const rows = await db
    .selectFrom('members')
    .innerJoin('messages', (join) =>
      join
        .onRef('messages.conversation_id', '=', 'members.conversation_id')
        .onRef('messages.seq', '>', 'members.last_read_seq')
        .onRef('messages.author_id', '!=', 'members.user_id'),
    )
    .select(['members.conversation_id'])
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('members.user_id', '=', userId)
    .where('members.conversation_id', 'in', conversationIds)
    .where('messages.deleted_at', 'is', null)
    .groupBy('members.conversation_id')
    .execute();
  for (const row of rows) result.set(row.conversation_id, Number(row.count));
  return result;
}

/** The member's view of conversations, in the order given. */
export async function loadViews(
  db: Kysely<Database>,
  userId: string,
  conversations: ConversationRow[],
  memberships: Map<string, MemberRow>,
): Promise<ConversationView[]> {
  const ids = conversations.map((row) => row.id);
  const members = await loadMembers(db, ids, userId);
  const unread = await unreadCounts(db, userId, ids);
  const views: ConversationView[] = [];
  for (const row of conversations) {
    const lastRow = await db
      .selectFrom('messages')
      .selectAll()
      .where('conversation_id', '=', row.id)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    const [lastMessage] = lastRow ? await toMessages(db, [lastRow], userId) : [];
    views.push({
      conversation: toConversation(row),
      members: members.get(row.id) ?? [],
      me: {
        notifications: memberships.get(row.id)?.notifications ?? 'all',
        unreadCount: unread.get(row.id) ?? 0,
      },
      lastMessage: lastMessage ?? null,
    });
  }
  return views;
}

export async function loadView(db: Kysely<Database>, userId: string, conversationId: string): Promise<ConversationView> {
  const row = await db.selectFrom('conversations').selectAll().where('id', '=', conversationId).executeTakeFirstOrThrow();
  const membership = await db
    .selectFrom('members')
    .selectAll()
    .where('conversation_id', '=', conversationId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  const [view] = await loadViews(db, userId, [row], new Map(membership ? [[conversationId, membership]] : []));
  if (!view) throw new Error('view of a conversation that exists');
  return view;
}
