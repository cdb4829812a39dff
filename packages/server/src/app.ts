import { buildOpenApiDocument, PROTOCOL_VERSION } from '@parley/protocol';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { registerAccountRoutes } from './accounts/routes.js';
import { registerAvatarRoutes } from './accounts/avatar-routes.js';
import { registerContextRoutes } from './assistant/context-routes.js';
import { registerBacklogRoutes } from './assistant/backlog-routes.js';
import { registerDecisionRoutes } from './assistant/decision-routes.js';
import { registerMemoryRoutes } from './assistant/memory-routes.js';
import { registerTurnRoutes } from './assistant/turn-routes.js';
import { registerAppCallRoutes } from './apps/calls.js';
import { registerAppRoutes } from './apps/routes.js';
import { registerWidgetRoutes } from './apps/widgets.js';
import { registerAttachmentRoutes } from './attachments/routes.js';
import { registerBlockingRoutes } from './blocking/routes.js';
import type { ServerContext } from './context.js';
import { registerForkRoutes } from './conversations/fork-routes.js';
import { registerConversationRoutes } from './conversations/routes.js';
import { registerMemberRoutes } from './conversations/member-routes.js';
import { registerGuardianRoutes } from './guardians/routes.js';
import { bindRoute, JSON_BODY_LIMIT } from './http/bind.js';
import { toErrorBody } from './http/errors.js';
import { atLeast } from './logger.js';
import { registerInviteRoutes } from './invites/routes.js';
import { registerMessageEditRoutes } from './messages/edit-routes.js';
import { registerReactionRoutes } from './messages/reaction-routes.js';
import { registerMessageRoutes } from './messages/routes.js';

const MAX_PATH_PARAMETER_LENGTH = 1024;

/**
 * Answers a GET or HEAD outside `/api` (the web client's files), or calls `notFound` before it
 * returns for a path it does not serve. A plain Node handler: the server knows nothing of what it
 * serves.
 */
export type SiteHandler = (request: IncomingMessage, response: ServerResponse, notFound: () => void) => void;

/** The HTTP API: every endpoint of the protocol's route table, and the OpenAPI document. */
export function buildApp(context: ServerContext, options: { site?: SiteHandler } = {}): FastifyInstance {
  // One logger for the process. Fastify's own lines (each request, "listening at") are at info:
  // shown only when PARLEY_LOG_REQUESTS asks for them; its warnings and errors always.
  const logger: FastifyBaseLogger = context.config.logRequests ? context.logger : atLeast(context.logger, 'warn');
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: JSON_BODY_LIMIT,
    trustProxy: false,
    // Longer than any valid parameter (an emoji of 32 code points, percent-encoded, is 384), so
    // the route's schema names the parameter that is too long; past this the router refuses.
    routerOptions: { maxParamLength: MAX_PATH_PARAMETER_LENGTH },
    // The router's own refusals (a malformed or overlong URL) in the one error shape [PB5].
    frameworkErrors: (error, _request, reply: FastifyReply) => {
      const { status, body } = toErrorBody(error);
      void reply.code(status).send({ error: body });
    },
    // What Node's HTTP parser refuses before Fastify sees a request (headers or URL past 16 KiB,
    // a malformed request line), also in the one error shape [PB5].
    clientErrorHandler: (error, socket) => {
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      const tooLarge = (error as { code?: unknown }).code === 'HPE_HEADER_OVERFLOW';
      const status = tooLarge ? 413 : 400;
      const body = JSON.stringify({
        error: tooLarge
          ? { code: 'PAYLOAD_TOO_LARGE', message: 'the URL and headers are too large', field: 'headers' }
          : { code: 'INVALID_INPUT', message: 'malformed HTTP request' },
      });
      socket.end(
        `HTTP/1.1 ${status} ${tooLarge ? 'Payload Too Large' : 'Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    },
  });

  // Uploads arrive as raw bytes of any type; the handler sniffs what they really are. Fastify's
  // own text/plain parser would decode the bytes as a string first, hiding invalid UTF-8.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.setErrorHandler((error, request, reply) => {
    const { status, body, unexpected } = toErrorBody(error);
    if (unexpected) request.log.error({ err: error }, 'unexpected error answering a request');
    if (body.retryAfter !== undefined) reply.header('retry-after', String(body.retryAfter));
    void reply.code(status).send({ error: body });
  });
  const { site } = options;
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const notFound = () => {
      void reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no endpoint ${request.method} ${path}` } });
    };
    if (!site || (request.method !== 'GET' && request.method !== 'HEAD') || path === '/api' || path.startsWith('/api/')) return notFound();
    // The site writes the response itself unless it has nothing at that path.
    let answered = true;
    site(request.raw, reply.raw, () => (answered = false));
    if (answered) reply.hijack();
    else notFound();
  });

  bindRoute(app, context, 'health', async () => ({ status: 'ok' as const, protocolVersion: PROTOCOL_VERSION }));
  app.get('/api/openapi.json', async () => buildOpenApiDocument());

  registerAccountRoutes(app, context);
  registerAvatarRoutes(app, context);
  registerBlockingRoutes(app, context);
  registerGuardianRoutes(app, context);
  registerConversationRoutes(app, context);
  registerMemberRoutes(app, context);
  registerForkRoutes(app, context);
  registerInviteRoutes(app, context);
  registerMessageRoutes(app, context);
  registerMessageEditRoutes(app, context);
  registerReactionRoutes(app, context);
  registerAttachmentRoutes(app, context);
  registerTurnRoutes(app, context);
  registerDecisionRoutes(app, context);
  registerBacklogRoutes(app, context);
  registerContextRoutes(app, context);
  registerMemoryRoutes(app, context);
  registerAppRoutes(app, context);
  registerAppCallRoutes(app, context);
  registerWidgetRoutes(app, context);
  return app;
}
