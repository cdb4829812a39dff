import {
  type ErrorBody,
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
import { toErrorBody } from './errors.js';
import { refuseWhenBehind } from './overload.js';

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

/** A refusal shown to a person as a page: its HTML and the headers it needs (its own policy). */
export interface ErrorPage {
  html: string;
  headers: Record<string, string>;
}

export interface BindOptions {
  /**
   * For a route a person's browser lands on (a redirect target): its refusals, whatever refused
   * (the caller's check, the schemas, the handler), answer this page with their status, unless
   * the caller asks for JSON.
   */
  errorPage?: (failure: { status: number; error: ErrorBody }, request: FastifyRequest) => ErrorPage;
}

/**
 * Whether the caller asks for JSON rather than a page: its `Accept` names `application/json`
 * (with a weight above 0) and does not put `text/html` before it. A browser's navigation names
 * only `text/html` (and a wildcard), a bare fetch only the wildcard: they get the page.
 */
export function asksForJson(accept: string | undefined): boolean {
  let json = 0;
  let html = 0;
  for (const range of (accept ?? '').slice(0, 2048).split(',')) {
    const [type = '', ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    const weight = parameters.find((parameter) => parameter.startsWith('q='));
    const q = weight === undefined ? 1 : Number(weight.slice(2));
    if (!Number.isFinite(q)) continue;
    if (type === 'application/json') json = Math.max(json, q);
    else if (type === 'text/html') html = Math.max(html, q);
  }
  return json > 0 && json >= html;
}

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
export function bindRoute<N extends RouteName>(app: FastifyInstance, context: ServerContext, name: N, handler: Handler<N>, options: BindOptions = {}): void {
  const route: RouteDefinition = routes[name];
  const { errorPage } = options;
  app.route({
    method: route.method,
    url: route.path,
    // Bodies past the limit are refused while they arrive, before they are buffered whole [PB3].
    bodyLimit: route.upload ? (name === 'uploadAvatar' ? context.config.maxAvatarBytes : context.config.maxUploadBytes) : jsonBodyLimit(route),
    // The caller is checked before the body is read, let alone parsed: a request that may not
    // call the route costs a session lookup, whatever it carries [PB4].
    onRequest: async (request) => {
      // A write the database cannot take soon is refused first, before it costs a lookup [PB7];
      // the bot's routes finish answers already under way and are never refused so.
      if (route.method !== 'GET' && route.caller !== 'bot') refuseWhenBehind(context);
      const auth = route.auth === 'none' ? null : await authenticate(context, request);
      if (route.auth === 'required' && !auth) throw new ParleyError('UNAUTHENTICATED', 'sign in first');
      if (auth?.via === 'cookie' && route.method !== 'GET') checkOrigin(context, request);
      if (route.caller === 'bot' && auth?.kind !== 'bot') {
        throw new ParleyError('FORBIDDEN', 'only a bot account (the assistant) may do this');
      }
      if (route.caller === 'admin' && !auth?.admin) throw new ParleyError('FORBIDDEN', 'only an administrator may do this');
      callers.set(request, auth);
    },
    // A refusal a person's browser lands on is a page; a caller asking for JSON gets the app's
    // JSON error (rethrown to its handler).
    ...(errorPage
      ? {
          errorHandler: (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
            if (asksForJson(request.headers.accept)) throw error;
            const { status, body, unexpected } = toErrorBody(error);
            if (unexpected) request.log.error({ err: error }, 'unexpected error answering a request');
            const page = errorPage({ status, error: body }, request);
            if (body.retryAfter !== undefined) reply.header('retry-after', String(body.retryAfter));
            void reply
              .code(status)
              .headers({ ...page.headers, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' })
              .send(page.html);
          },
        }
      : {}),
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
