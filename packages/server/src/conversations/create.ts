import { type Member, ParleyError } from '@parley/protocol';
import { getUser, getUserByUsername, requireGroupReady, toUserSummary, type UserRow } from '../accounts/users.js';
import { isAssistant } from '../assistant/account.js';
import type { WriteContext } from '../events/event-log.js';
import { newId } from '../ids/ids.js';
import { hasBlocked } from './access.js';
import { DEFAULT_ASSISTANT, toConversation, type ConversationRow } from './views.js';

/**
 * Creates a conversation with its first members and appends `conversation-created`. The creator
 * comes first in `people`.
 */
export async function createConversationIn(
  write: WriteContext,
  options: {
    kind: ConversationRow['kind'];
    title: string | null;
    people: UserRow[];
    memberLimit: number;
    directKey?: string;
    forkedFrom?: { conversationId: string; seq: number };
    /** The assistant's bot account: a member of every assistant and group conversation, never of a direct one [AS2]. */
    assistantId: string;
  },
): Promise<ConversationRow> {
  const [creator] = options.people;
  if (!creator) throw new Error('a conversation needs its creator');
  // The assistant takes its own seat in each conversation; it never starts one [AS2]. Starting
  // one would seat it twice (a unique violation, once a 500).
  if (creator.id === options.assistantId) throw new ParleyError('FORBIDDEN', 'the assistant joins conversations; it does not start them');
  const hasAssistant = options.kind !== 'direct';
  const row: ConversationRow = {
    id: newId(),
    kind: options.kind,
    title: options.title,
    created_by: creator.id,
    created_at: write.now,
    updated_at: write.now,
    last_seq: 0,
    member_limit: options.memberLimit,
    assistant_name: hasAssistant ? DEFAULT_ASSISTANT.name : null,
    assistant_personality: hasAssistant ? DEFAULT_ASSISTANT.personality : null,
    assistant_mode: hasAssistant ? DEFAULT_ASSISTANT.mode : null,
    assistant_talkativeness: hasAssistant ? DEFAULT_ASSISTANT.talkativeness : null,
    forked_from_id: options.forkedFrom?.conversationId ?? null,
    forked_from_seq: options.forkedFrom?.seq ?? null,
    direct_key: options.directKey ?? null,
  };
  await write.db.insertInto('conversations').values(row).execute();
  const members: Member[] = options.people.map((person, index) => ({
    userId: person.id,
    user: toUserSummary(person),
    role: index === 0 ? 'creator' : 'member',
    joinedAt: write.now,
    lastReadSeq: 0,
  }));
  if (hasAssistant) {
    const assistant = await getUser(write.db, options.assistantId);
    members.push({ userId: assistant.id, user: toUserSummary(assistant), role: 'assistant', joinedAt: write.now, lastReadSeq: 0 });
  }
  await write.db
    .insertInto('members')
    .values(
      members.map((member) => ({
        conversation_id: row.id,
        user_id: member.userId,
        role: member.role,
        joined_at: write.now,
        last_read_seq: 0,
        notifications: 'all' as const,
      })),
    )
    .execute();
  const event = await write.append(row.id, {
    type: 'conversation-created',
    actorId: creator.id,
    conversation: toConversation({ ...row, last_seq: 1 }),
    members,
  });
  return { ...row, last_seq: event.seq };
}

/** Checks everyone who would be added to a new group by its creator, naming the offending entry. */
export async function resolveGroupPeople(write: WriteContext, creator: UserRow, usernames: string[], limit: number): Promise<UserRow[]> {
  requireGroupReady(creator);
  const people: UserRow[] = [creator];
  const seen = new Set([creator.id]);
  for (const [index, username] of usernames.entries()) {
    const field = `body.usernames.${index}`;
    const user = await getUserByUsername(write.db, username, field);
    // The assistant joins every group anyway, without taking a seat [AS2].
    if (isAssistant(user)) continue;
    if (seen.has(user.id)) continue;
    seen.add(user.id);
    requireGroupReady(user, field);
    if (await hasBlocked(write.db, user.id, creator.id)) {
      throw new ParleyError('BLOCKED', `@${user.username} cannot be added by you`, { field });
    }
    people.push(user);
  }
  if (people.length > limit) {
    throw new ParleyError('GROUP_FULL', `a group holds at most ${limit} people`, { field: 'body.usernames' });
  }
  return people;
}
