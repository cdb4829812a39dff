import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { bindRoute } from '../http/bind.js';
import { listBacklog } from './backlog.js';

/** The assistant's backlog [AB1]–[AB3]: read when it connects, so what was said while it was away is not lost. */
export function registerBacklogRoutes(app: FastifyInstance, context: ServerContext): void {
  const { reader } = context.storage;
  // Not even the query is looked at for anyone but a bot [AB1]: the route's `caller: 'bot'` [PB4].
  bindRoute(app, context, 'listAssistantBacklog', async ({ auth, query }) => listBacklog(reader, auth.userId, query));
}
