import { ParleyError } from '@parley/protocol';
import type { FastifyInstance } from 'fastify';
import { getUser, getUserByUsername } from '../accounts/users.js';
import type { ServerContext } from '../context.js';
import { asSeenBy, blockedBy } from '../blocking/withhold.js';
import { bindRoute } from '../http/bind.js';
import { isAssistant } from '../assistant/account.js';
import { blockedEitherWay, requireGroup, requireMember, requireMembership } from './access.js';
import { createConversationIn, resolveGroupPeople } from './create.js';
import { loadView, loadViews, toConversation } from './views.js';

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
    await requireMembership(reader, params.conversationId, auth.userId);
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
              // To 1/10,000: PostgreSQL's \`real\` cannot hold what a double can (8.4e-323 underflows), SQLite's can; both store the same.
              talkativeness: patch.talkativeness === undefined ? current.talkativeness : Math.round(patch.talkativeness * 10_000) / 10_000,
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
