import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { bindRoute } from '../http/bind.js';
import { listBacklog, requireBot } from './backlog.js';

/** The assistant's backlog [AB1]–[AB3]: read when it connects, so what was said while it was away is not lost. */
export function registerBacklogRoutes(app: FastifyInstance, context: ServerContext): void {
  const { reader } = context.storage;
  bindRoute(app, context, 'listAssistantBacklog', async ({ auth, query }) => listBacklog(reader, auth.userId, query), {
    // Not even the query is looked at for anyone but a bot [AB1].
    authorize: async (auth) => requireBot(reader, auth?.userId ?? ''),
  });
}
