import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { bindRoute } from '../http/bind.js';

/** The assistant's streamed answers over HTTP; the socket's `turn-delta` frame is the fast path for text. */
export function registerTurnRoutes(app: FastifyInstance, context: ServerContext): void {
  const { turns } = context;

  bindRoute(app, context, 'listTurns', async ({ auth, params, query }) => ({
    turns: await turns.list(auth.userId, params.conversationId, query),
  }));

  bindRoute(app, context, 'getTurn', async ({ auth, params }) => turns.get(auth.userId, params.conversationId, params.turnId));

  bindRoute(app, context, 'startTurn', async ({ auth, params, body }) => turns.start(auth.userId, params.conversationId, body));

  bindRoute(app, context, 'appendTurnDelta', async ({ auth, params, body }) => {
    await turns.appendOverHttp(auth.userId, params.conversationId, params.turnId, body.text);
  });

  bindRoute(app, context, 'endTurn', async ({ auth, params, body }) => turns.end(auth.userId, params.conversationId, params.turnId, body));

  bindRoute(app, context, 'stopTurn', async ({ auth, params }) => turns.stop(auth.userId, params.conversationId, params.turnId));
}
