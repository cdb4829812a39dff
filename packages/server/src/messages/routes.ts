import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { requireMembership } from '../conversations/access.js';
import { bindRoute } from '../http/bind.js';
import { sendMessage } from './send.js';
import { toMessages } from './views.js';

export function registerMessageRoutes(app: FastifyInstance, context: ServerContext): void {
  const { reader } = context.storage;

  bindRoute(app, context, 'listMessages', async ({ auth, params, query }) => {
    await requireMembership(reader, params.conversationId, auth.userId);
    let rows = reader.selectFrom('messages').selectAll().where('conversation_id', '=', params.conversationId);
    if (query.before !== undefined) rows = rows.where('seq', '<', query.before);
    const page = await rows.orderBy('seq', 'desc').limit(query.limit + 1).execute();
    const more = page.length > query.limit;
    const kept = page.slice(0, query.limit).reverse();
    return { messages: await toMessages(reader, kept, auth.userId), nextBefore: more && kept[0] ? kept[0].seq : null };
  });

  bindRoute(app, context, 'sendMessage', ({ auth, params, body }) => sendMessage(context, auth.userId, params.conversationId, body));
}
