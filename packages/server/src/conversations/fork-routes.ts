import type { FastifyInstance } from 'fastify';
import { getUser } from '../accounts/users.js';
import type { ServerContext } from '../context.js';
import { bindRoute } from '../http/bind.js';
import { requireMember } from './access.js';
import { copyMessages } from './fork.js';
import { createConversationIn, resolveGroupPeople } from './create.js';
import { loadView } from './views.js';

export function registerForkRoutes(app: FastifyInstance, context: ServerContext): void {
  bindRoute(app, context, 'forkConversation', async ({ auth, params, body }) => {
    const id = await context.log.write(async (write) => {
      const { conversation: source } = await requireMember(write.db, params.conversationId, auth.userId);
      const me = await getUser(write.db, auth.userId);
      const people = await resolveGroupPeople(write, me, body.usernames, context.config.groupMemberLimit);
      const group = await createConversationIn(write, {
        kind: 'group',
        title: body.title ?? (source.kind === 'group' ? source.title : null),
        people,
        memberLimit: context.config.groupMemberLimit,
        forkedFrom: { conversationId: source.id, seq: source.last_seq },
        assistantId: context.assistant.userId,
      });
      // The source is only read: its log and messages stay exactly as they were.
      await copyMessages(write, { sourceId: source.id, targetId: group.id, upTo: source.last_seq, actorId: auth.userId });
      return group.id;
    });
    return loadView(context.storage.writer, auth.userId, id);
  });
}
