import {
  type RouteDefinition,
  type RouteName,
  type Routes,
  ParleyError,
  errorFromZod,
  maxJsonBytes,
  routes,
} from '@parley/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { type Auth, authenticate, checkOrigin } from '../accounts/sessions.js';
import type { ServerContext } from '../context.js';

type Parsed<R, K extends string> = R extends { readonly [P in K]: infer S } ? (S extends z.ZodType ? z.output<S> : never) : undefined;

export interface HandlerInput<N extends RouteName> {
  auth: Routes[N]['auth'] extends 'required' ? Auth : Auth | null;
  params: Parsed<Routes[N], 'params'>;
  query: Parsed<Routes[N], 'query'>;
  body: Parsed<Routes[N], 'body'>;
  upload: Routes[N] extends { upload: object } ? { data: Buffer; contentType: string } : undefined;
  request: FastifyRequest;
  reply: FastifyReply;
}

export interface BinaryResult {
  data: Buffer;
  contentType: string;
  headers?: Record<string, string>;
}

/** Where a `redirect` route sends the browser (a 303 See Other). */
export interface RedirectResult {
  location: string;
}

export type HandlerOutput<N extends RouteName> = Routes[N]['response'] extends z.ZodType
  ? z.input<Routes[N]['response']>
  : Routes[N]['response'] extends 'binary'
    ? BinaryResult
    : Routes[N]['response'] extends 'redirect'
      ? RedirectResult
      : void;

export type Handler<N extends RouteName> = (input: HandlerInput<N>) => Promise<HandlerOutput<N>>;

export const JSON_BODY_LIMIT = 256 * 1024;
/** Room over the largest valid compact JSON of a body, for a client that formats it [PB3]. */
const BODY_SLACK_BYTES = 1024;

/**
 * The body limit of a JSON route: the largest valid body its schema allows, plus some slack, so
 * a body that cannot be valid is refused while it arrives, before it is buffered or parsed [PB3].
 */
export function jsonBodyLimit(route: RouteDefinition): number {
  return (route.body ? maxJsonBytes(route.body) : 0) + BODY_SLACK_BYTES;
}

/** Who called, found before the body is read: a request refused for its caller is never parsed. */
const callers = new WeakMap<FastifyRequest, Auth | null>();

function parseWith(schema: z.ZodType | undefined, value: unknown, field: string): unknown {
  if (!schema) return undefined;
  const result = schema.safeParse(value);
  if (!result.success) throw errorFromZod(result.error, field);
  return result.data;
}

/**
 * Binds one endpoint of the route table: authenticates, parses params, query and body with the
 * protocol's schemas, runs the handler and checks its answer against the response schema.
 */
export function bindRoute<N extends RouteName>(app: FastifyInstance, context: ServerContext, name: N, handler: Handler<N>): void {
  const route: RouteDefinition = routes[name];
  app.route({
    method: route.method,
    url: route.path,
    // Bodies past the limit are refused while they arrive, before they are buffered whole [PB3].
    bodyLimit: route.upload ? (name === 'uploadAvatar' ? context.config.maxAvatarBytes : context.config.maxUploadBytes) : jsonBodyLimit(route),
    // The caller is checked before the body is read, let alone parsed: a request that may not
    // call the route costs a session lookup, whatever it carries [PB4].
    onRequest: async (request) => {
      const auth = route.auth === 'none' ? null : await authenticate(context, request);
      if (route.auth === 'required' && !auth) throw new ParleyError('UNAUTHENTICATED', 'sign in first');
      if (auth?.via === 'cookie' && route.method !== 'GET') checkOrigin(context, request);
      if (route.caller === 'bot' && auth?.kind !== 'bot') {
        throw new ParleyError('FORBIDDEN', 'only a bot account (the assistant) may do this');
      }
      if (route.caller === 'admin' && !auth?.admin) throw new ParleyError('FORBIDDEN', 'only an administrator may do this');
      callers.set(request, auth);
    },
    handler: async (request, reply) => {
      const auth = callers.get(request) ?? null;
      const params = parseWith(route.params, request.params, 'params');
      const query = parseWith(route.query, request.query, 'query');
      let body: unknown;
      let upload: { data: Buffer; contentType: string } | undefined;
      if (route.upload) {
        if (!Buffer.isBuffer(request.body)) throw new ParleyError('INVALID_INPUT', 'body: send the file bytes', { field: 'body' });
        upload = { data: request.body, contentType: String(request.headers['content-type'] ?? '') };
      } else if (route.body) {
        if (request.body !== undefined && (typeof request.body !== 'object' || Buffer.isBuffer(request.body))) {
          throw new ParleyError('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json', { field: 'body' });
        }
        body = parseWith(route.body, request.body ?? {}, 'body');
      }
      const input = { auth, params, query, body, upload, request, reply } as HandlerInput<N>;
      const output: unknown = await handler(input);
      if (route.response === null) {
        return reply.code(204).send();
      }
      if (route.response === 'redirect') {
        reply.header('cache-control', 'no-store');
        return reply.code(303).header('location', (output as RedirectResult).location).send();
      }
      if (route.response === 'binary') {
        const file = output as BinaryResult;
        reply.header('content-type', file.contentType);
        reply.header('x-content-type-options', 'nosniff');
        for (const [key, value] of Object.entries(file.headers ?? {})) reply.header(key, value);
        return reply.code(200).send(file.data);
      }
      const checked = route.response.safeParse(output);
      if (!checked.success) {
        throw new Error(`response of ${name} does not match its schema: ${checked.error.message}`);
      }
      return reply.code(route.status ?? 200).send(checked.data);
    },
  });
}
