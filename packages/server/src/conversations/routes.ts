import { type Member, ParleyError } from '@parley/protocol';
import type { FastifyInstance } from 'fastify';
import { getUser, getUserByUsername, requireGroupReady, toUserSummary, type UserRow } from '../accounts/users.js';
import type { ServerContext } from '../context.js';
import type { WriteContext } from '../events/event-log.js';
import { asSeenBy, blockedBy } from '../blocking/withhold.js';
import { bindRoute } from '../http/bind.js';
import { newId } from '../ids/ids.js';
import { isAssistant } from '../assistant/account.js';
import { blockedEitherWay, hasBlocked, requireGroup, requireMember } from './access.js';
import { DEFAULT_ASSISTANT, loadView, loadViews, toConversation, type ConversationRow } from './views.js';

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

export function registerConversationRoutes(app: FastifyInstance, context: ServerContext): void {
  const { reader } = context.storage;

  bindRoute(app, context, 'listConversations', async ({ auth, query }) => {
    const memberships = await reader.selectFrom('members').selectAll().where('user_id', '=', auth.userId).execute();
    if (memberships.length === 0) return { conversations: [] };
    let rows = reader
      .selectFrom('conversations')
      .selectAll()
      .where(
        'id',
        'in',
        memberships.map((member) => member.conversation_id),
      );
    if (query.kind) rows = rows.where('kind', '=', query.kind);
    const conversations = await rows.orderBy('updated_at', 'desc').orderBy('id').execute();
    const byId = new Map(memberships.map((member) => [member.conversation_id, member]));
    return { conversations: await loadViews(reader, auth.userId, conversations, byId) };
  });

  bindRoute(app, context, 'createConversation', async ({ auth, body }) => {
    const id = await context.log.write(async (write) => {
      const me = await getUser(write.db, auth.userId);
      if (body.kind === 'assistant') {
        const row = await createConversationIn(write, { kind: 'assistant', title: body.title ?? null, people: [me], memberLimit: 1, assistantId: context.assistant.userId });
        return row.id;
      }
      if (body.kind === 'direct') {
        const other = await getUserByUsername(write.db, body.username, 'body.username');
        if (other.id === me.id) throw new ParleyError('INVALID_INPUT', 'a direct conversation needs someone else', { field: 'body.username' });
        if (isAssistant(other)) {
          throw new ParleyError('INVALID_INPUT', 'to talk with the assistant alone, start an assistant conversation', { field: 'body.username' });
        }
        if (await blockedEitherWay(write.db, me.id, other.id)) {
          throw new ParleyError('BLOCKED', `you cannot start a conversation with @${other.username}`, { field: 'body.username' });
        }
        const directKey = [me.id, other.id].sort().join(':');
        const existing = await write.db.selectFrom('conversations').select('id').where('direct_key', '=', directKey).executeTakeFirst();
        if (existing) {
          const stillMember = await write.db
            .selectFrom('members')
            .select('user_id')
            .where('conversation_id', '=', existing.id)
            .where('user_id', '=', me.id)
            .executeTakeFirst();
          if (stillMember) return existing.id;
        }
        const row = await createConversationIn(write, { kind: 'direct', title: null, people: [me, other], memberLimit: 2, directKey, assistantId: context.assistant.userId });
        return row.id;
      }
      const people = await resolveGroupPeople(write, me, body.usernames, context.config.groupMemberLimit);
      const row = await createConversationIn(write, {
        kind: 'group',
        title: body.title ?? null,
        people,
        memberLimit: context.config.groupMemberLimit,
        assistantId: context.assistant.userId,
      });
      return row.id;
    });
    return loadView(context.storage.writer, auth.userId, id);
  });

  bindRoute(app, context, 'getConversation', async ({ auth, params }) => {
    await requireMember(reader, params.conversationId, auth.userId);
    return loadView(reader, auth.userId, params.conversationId);
  });

  bindRoute(app, context, 'updateConversation', async ({ auth, params, body }) => {
    await context.log.write(async (write) => {
      const { conversation } = await requireMember(write.db, params.conversationId, auth.userId);
      if (body.title !== undefined) requireGroup(conversation);
      if (body.assistant !== undefined && conversation.kind === 'direct') {
        throw new ParleyError('FORBIDDEN', 'a direct conversation has no assistant', { field: 'body.assistant' });
      }
      const current = toConversation(conversation).assistant;
      const patch = body.assistant;
      const assistant =
        patch && current
          ? {
              name: patch.name ?? current.name,
              personality: patch.personality ?? current.personality,
              mode: patch.mode ?? current.mode,
              talkativeness: patch.talkativeness ?? current.talkativeness,
            }
          : undefined;
      await write.db
        .updateTable('conversations')
        .set({
          ...(body.title !== undefined ? { title: body.title } : {}),
          ...(assistant
            ? {
                assistant_name: assistant.name,
                assistant_personality: assistant.personality,
                assistant_mode: assistant.mode,
                assistant_talkativeness: assistant.talkativeness,
              }
            : {}),
        })
        .where('id', '=', conversation.id)
        .execute();
      await write.append(conversation.id, {
        type: 'conversation-updated',
        actorId: auth.userId,
        ...(body.title !== undefined ? { title: body.title } : {}),
        ...(assistant ? { assistant } : {}),
      });
    });
    return loadView(context.storage.writer, auth.userId, params.conversationId);
  });

  bindRoute(app, context, 'listEvents', async ({ auth, params, query }) => {
    const { conversation } = await requireMember(reader, params.conversationId, auth.userId);
    const logged = await context.log.read(params.conversationId, query.after, query.limit);
    // What the socket would send this reader: the same seqs, withheld where they blocked the source [EL15].
    const blocked = await blockedBy(reader, auth.userId);
    const events = logged.map((event) => asSeenBy(event, blocked));
    return { events, lastSeq: Math.max(conversation.last_seq, events.at(-1)?.seq ?? 0) };
  });
}
