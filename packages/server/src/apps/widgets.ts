import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ParleyError, type WidgetCsp, type WidgetSession } from '@parley/protocol';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { ServerContext } from '../context.js';
import { requireMember } from '../conversations/access.js';
import { bindRoute } from '../http/bind.js';
import { newSecret, sha256 } from '../ids/ids.js';
import type { Logger } from '../logger.js';
import type { Database } from '../storage/schema.js';
import { findCall } from './call-rows.js';
import { appInConversation, listingOf, requireEnabledApp } from './directory.js';

/**
 * Widgets (MCP Apps): a tool's `ui://` resource, shown in the web client in two frames on a
 * separate origin. Rules [AP20]–[AP22] in SPEC.md beside this file.
 */

/** The type of an MCP Apps widget document. */
export const WIDGET_MIME_TYPE = 'text/html;profile=mcp-app';
/** The type of an OpenAI Apps SDK widget: served with `window.openai` on the same bridge [AP23]. */
export const SKYBRIDGE_MIME_TYPE = 'text/html+skybridge';
/** How long a ticket to a widget serves its frames. */
export const WIDGET_TICKET_MS = 15 * 60 * 1000;
/** What the inner frame may do: run scripts and use forms. Never reach its own origin, the top page, popups, downloads or modals. */
export const WIDGET_SANDBOX = 'allow-scripts allow-forms';
/** At most this many domains of each kind are applied from a resource's CSP. */
const MAX_DOMAINS = 32;

/** An origin as a CSP source may name it: a scheme, a host (perhaps `*.` and a domain), a port; nothing else. */
const SOURCE = /^(https|wss|http|ws):\/\/(\*\.)?([a-z0-9-]+(\.[a-z0-9-]+)*)(:\d{1,5})?$/;

function hostOf(origin: string): string | null {
  try {
    return new URL(origin).hostname.toLowerCase();
  } catch {
    return null;
  }
}

/**
 * The domains of one kind a resource declared, kept when each is a plain origin (https, wss, or
 * http/ws on localhost for development), and never one that would reach Parley itself: its page's
 * origin or the widget origin (wildcards that cover their host included).
 */
function keptDomains(value: unknown, refused: readonly string[]): string[] {
  if (!Array.isArray(value)) return [];
  const refusedHosts = refused.map(hostOf).filter((host): host is string => host !== null);
  const kept: string[] = [];
  for (const item of value) {
    if (typeof item !== 'string') continue;
    const source = item.trim().toLowerCase().replace(/\/$/, '');
    const match = SOURCE.exec(source);
    if (!match) continue;
    const [, scheme, wildcard, host] = match;
    if (!host) continue;
    if ((scheme === 'http' || scheme === 'ws') && host !== 'localhost' && host !== '127.0.0.1') continue;
    const covers = (other: string) => (wildcard ? other === host || other.endsWith(`.${host}`) : other === host);
    if (refusedHosts.some(covers)) continue;
    if (!kept.includes(source)) kept.push(source);
    if (kept.length >= MAX_DOMAINS) break;
  }
  return kept;
}

/** The domains of a resource's `_meta.ui.csp` that Parley applies [AP21]. */
export function widgetCsp(meta: Record<string, unknown> | null, refused: readonly string[]): WidgetCsp {
  const csp = meta?.csp && typeof meta.csp === 'object' && !Array.isArray(meta.csp) ? (meta.csp as Record<string, unknown>) : {};
  return {
    connectDomains: keptDomains(csp.connectDomains, refused),
    resourceDomains: keptDomains(csp.resourceDomains, refused),
    frameDomains: keptDomains(csp.frameDomains, refused),
  };
}

/**
 * The Content-Security-Policy of a widget's document [AP21]: inline script and style (a widget is
 * one HTML file), and otherwise only the domains it declared: `connect-src` its connect domains,
 * scripts, styles, images, fonts and media from its resource domains, frames from its frame
 * domains; nothing else (no form target, no base, no plugin), framed only by Parley's page through
 * the widget origin, and sandboxed even when opened by itself.
 */
export function widgetPolicy(csp: WidgetCsp, ancestors: readonly string[]): string {
  const list = (items: readonly string[], fallback: string) => (items.length > 0 ? items.join(' ') : fallback);
  const resources = csp.resourceDomains.join(' ');
  return [
    "default-src 'none'",
    `script-src 'unsafe-inline' ${resources}`.trim(),
    `style-src 'unsafe-inline' ${resources}`.trim(),
    `img-src data: blob: ${resources}`.trim(),
    `font-src data: ${resources}`.trim(),
    `media-src data: blob: ${resources}`.trim(),
    `connect-src ${list(csp.connectDomains, "'none'")}`,
    `frame-src ${list(csp.frameDomains, "'none'")}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${ancestors.join(' ')}`,
    `sandbox ${WIDGET_SANDBOX}`,
  ].join('; ');
}

/** The outer frame's own policy: its one script from the widget origin, the widget's frame from there, framed only by the page that asked. */
function proxyPolicy(hostOrigin: string): string {
  return ["default-src 'none'", "script-src 'self'", "frame-src 'self'", "base-uri 'none'", "form-action 'none'", `frame-ancestors ${hostOrigin}`].join('; ');
}

/**
 * The outer frame's script. It puts the widget's document in a sandboxed inner frame (an opaque
 * origin: no cookies, no storage, nothing of the widget origin) and relays messages between the
 * page and that frame only: from the page only when it comes from the origin the ticket names, from
 * the inner frame only from that frame's window; anything else is dropped [AP22].
 */
export const PROXY_SCRIPT = `(() => {
  'use strict';
  const read = (name) => document.querySelector('meta[name="' + name + '"]').getAttribute('content');
  const host = read('parley-host');
  const frame = document.createElement('iframe');
  frame.setAttribute('sandbox', read('parley-sandbox'));
  frame.setAttribute('allow', '');
  frame.setAttribute('referrerpolicy', 'no-referrer');
  frame.title = read('parley-title');
  for (const element of [document.documentElement, document.body]) {
    element.style.margin = '0';
    element.style.height = '100%';
    element.style.overflow = 'hidden';
    element.style.background = 'transparent';
  }
  frame.style.border = '0';
  frame.style.display = 'block';
  frame.style.width = '100%';
  frame.style.height = '100%';
  window.addEventListener('message', (event) => {
    if (event.source === window.parent && window.parent !== window) {
      if (event.origin !== host) return;
      if (frame.contentWindow) frame.contentWindow.postMessage(event.data, '*');
    } else if (event.source !== null && event.source === frame.contentWindow) {
      window.parent.postMessage(event.data, host);
    }
  });
  frame.src = read('parley-document');
  document.body.append(frame);
})();
`;

function normalMimeType(value: string | null): string {
  return (value ?? '').toLowerCase().replace(/\s+/g, '');
}

/**
 * `window.openai` for a widget written for the OpenAI Apps SDK [AP23], spoken over the same MCP Apps
 * messages as any widget: it initializes with `ui/initialize`, keeps `toolInput`, `toolOutput`,
 * `toolResponseMetadata`, `theme`, `locale`, `displayMode`, `maxHeight` and `widgetState` from the
 * host's notifications (firing `openai:set_globals`), and maps `callTool` to `tools/call`,
 * `openExternal` to `ui/open-link`, `requestDisplayMode` to `ui/request-display-mode` and its height
 * to `ui/notifications/size-changed`. It runs first in the document, under the document's policy.
 */
export const OPENAI_BRIDGE = `(() => {
  'use strict';
  const parent = window.parent;
  const waiting = new Map();
  let next = 1;
  const post = (message) => parent.postMessage(message, '*');
  const request = (method, params) => new Promise((resolve, reject) => {
    const id = 'openai-' + next++;
    waiting.set(id, { resolve, reject });
    post({ jsonrpc: '2.0', id, method, params });
  });
  const notify = (method, params) => post({ jsonrpc: '2.0', method, params });
  const openai = {
    toolInput: {}, toolOutput: null, toolResponseMetadata: null, widgetState: null,
    theme: 'light', locale: 'en', displayMode: 'inline', maxHeight: undefined,
    userAgent: { device: { type: 'unknown' }, capabilities: { hover: true, touch: false } },
    safeArea: { insets: { top: 0, bottom: 0, left: 0, right: 0 } },
    callTool: (name, args) => request('tools/call', { name, arguments: args || {} }),
    openExternal: (options) => request('ui/open-link', { url: String(options && options.href) }).then((result) => {
      if (result && result.isError) throw new Error('the link was not opened');
    }),
    requestDisplayMode: (options) => request('ui/request-display-mode', { mode: options && options.mode }),
    setWidgetState: async (state) => set({ widgetState: state }),
    sendFollowUpMessage: async () => { throw new Error('this host takes no follow-up messages from widgets'); },
    notifyIntrinsicHeight: (height) => notify('ui/notifications/size-changed', { height }),
  };
  function set(globals) {
    Object.assign(openai, globals);
    window.dispatchEvent(new CustomEvent('openai:set_globals', { detail: { globals } }));
  }
  function fromContext(context) {
    const globals = {};
    if (!context) return globals;
    if (context.theme) globals.theme = context.theme;
    if (context.locale) globals.locale = context.locale;
    if (context.displayMode) globals.displayMode = context.displayMode;
    if (context.containerDimensions && context.containerDimensions.maxHeight) globals.maxHeight = context.containerDimensions.maxHeight;
    return globals;
  }
  window.addEventListener('message', (event) => {
    if (event.source !== parent) return;
    const message = event.data;
    if (!message || message.jsonrpc !== '2.0') return;
    if (message.method === undefined) {
      const pending = waiting.get(message.id);
      if (!pending) return;
      waiting.delete(message.id);
      if (message.error) pending.reject(new Error(message.error.message));
      else pending.resolve(message.result);
      return;
    }
    const params = message.params || {};
    if (message.method === 'ui/notifications/tool-input') set({ toolInput: params.arguments || {} });
    else if (message.method === 'ui/notifications/tool-result') set({ toolOutput: params.structuredContent === undefined ? null : params.structuredContent, toolResponseMetadata: params._meta || null });
    else if (message.method === 'ui/notifications/host-context-changed') set(fromContext(params));
    else if (message.id !== undefined) post({ jsonrpc: '2.0', id: message.id, result: {} });
  });
  Object.defineProperty(window, 'openai', { value: openai, configurable: false, writable: false });
  request('ui/initialize', { protocolVersion: '2026-01-26', appInfo: { name: 'openai-apps-widget', version: '1.0.0' }, appCapabilities: {} }).then((result) => {
    set(fromContext(result && result.hostContext));
    notify('ui/notifications/initialized', {});
    const report = () => notify('ui/notifications/size-changed', { height: Math.ceil(document.documentElement.getBoundingClientRect().height) });
    new ResizeObserver(report).observe(document.documentElement);
    report();
  });
})();`;

/** The document of an OpenAI Apps SDK widget with `window.openai` first, before any of its own scripts. */
export function withOpenAiBridge(html: string): string {
  const script = `<script>${OPENAI_BRIDGE}</script>`;
  const head = /<head[^>]*>/i.exec(html);
  if (head) return html.slice(0, head.index + head[0].length) + script + html.slice(head.index + head[0].length);
  const doctype = /^\s*<!doctype[^>]*>/i.exec(html);
  return doctype ? doctype[0] + script + html.slice(doctype[0].length) : script + html;
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function proxyPage(token: string, hostOrigin: string, title: string): string {
  const meta = (name: string, value: string) => `<meta name="${name}" content="${escapeAttribute(value)}">`;
  return [
    '<!doctype html><html><head><meta charset="utf-8">',
    meta('parley-host', hostOrigin),
    meta('parley-document', `/document/${token}`),
    meta('parley-sandbox', WIDGET_SANDBOX),
    meta('parley-title', title),
    `<title>${escapeAttribute(title)}</title>`,
    '</head><body><script src="/proxy.js"></script></body></html>',
  ].join('');
}

/** A ticket still valid, whose member, conversation, app and approved listing still allow the widget [AP20]. */
async function servableWidget(db: Kysely<Database>, token: string, now: string) {
  if (!/^[A-Za-z0-9_-]{16,128}$/.test(token)) return null;
  const ticket = await db.selectFrom('widget_tickets').selectAll().where('token_hash', '=', sha256(token)).executeTakeFirst();
  if (!ticket || ticket.expires_at <= now) return null;
  const member = await db.selectFrom('members').select('user_id').where('conversation_id', '=', ticket.conversation_id).where('user_id', '=', ticket.user_id).executeTakeFirst();
  if (!member) return null;
  const found = await appInConversation(db, ticket.conversation_id, ticket.app_id);
  if (found.state !== 'on' || found.app.approved_hash !== ticket.listing_hash) return null;
  const { app } = found;
  const resource = listingOf(app)?.uiResources.find((item) => item.uri === ticket.uri);
  if (!resource || resource.text === null) return null;
  return { ticket, app, resource };
}

function answer(response: http.ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  response.writeHead(status, {
    'Content-Length': String(Buffer.byteLength(body)),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
    ...headers,
  });
  response.end(body);
}

const NOTHING_POLICY = "default-src 'none'; frame-ancestors 'none'";

/**
 * The widget origin's handler: `/proxy.js`, `/proxy/:ticket` (the outer frame) and
 * `/document/:ticket` (the widget's document, with its policy). It reads no cookie and serves
 * nothing else: every other path, and a ticket that no longer holds, is a plain 404 [AP20].
 */
export function widgetSiteHandler(context: ServerContext): http.RequestListener {
  return (request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      answer(response, 405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8', 'Content-Security-Policy': NOTHING_POLICY }, 'method not allowed\n');
      return;
    }
    if (path === '/proxy.js') {
      answer(response, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Content-Security-Policy': NOTHING_POLICY, 'Cache-Control': 'no-cache' }, PROXY_SCRIPT);
      return;
    }
    const match = /^\/(proxy|document)\/([^/]+)$/.exec(path);
    const notFound = () => answer(response, 404, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Security-Policy': NOTHING_POLICY }, 'not found\n');
    if (!match) return notFound();
    const [, kind, token = ''] = match;
    servableWidget(context.storage.reader, token, context.clock.now().toISOString())
      .then((found) => {
        if (!found) return notFound();
        const { ticket, app, resource } = found;
        if (kind === 'proxy') {
          answer(response, 200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': proxyPolicy(ticket.host_origin) }, proxyPage(token, ticket.host_origin, app.name));
          return;
        }
        const origin = widgetOriginOf(context);
        const csp = widgetCsp(resource.meta, [ticket.host_origin, origin]);
        const text = normalMimeType(resource.mimeType) === SKYBRIDGE_MIME_TYPE ? withOpenAiBridge(resource.text ?? '') : resource.text ?? '';
        answer(
          response,
          200,
          {
            'Content-Type': 'text/html; charset=utf-8',
            'Content-Security-Policy': widgetPolicy(csp, [origin, ticket.host_origin]),
            'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), display-capture=(), clipboard-read=(), usb=(), payment=()',
            'Cross-Origin-Resource-Policy': 'same-origin',
          },
          request.method === 'HEAD' ? '' : text,
        );
      })
      .catch((error: unknown) => {
        context.logger.error({ err: error }, 'could not serve a widget');
        if (!response.headersSent) answer(response, 500, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Security-Policy': NOTHING_POLICY }, 'error\n');
        else response.end();
      });
  };
}

function widgetOriginOf(context: ServerContext): string {
  const origin = context.widgets.origin;
  if (!origin) throw new ParleyError('UNAVAILABLE', 'this node serves no widgets');
  return origin;
}

export interface WidgetSite {
  readonly origin: string;
  close(): Promise<void>;
}

/** Listens for the widget origin on its own port: a plain Node server, apart from the API's. */
export async function startWidgetSite(
  context: ServerContext,
  options: { port: number; host: string; origin?: string | undefined },
  logger: Logger,
): Promise<WidgetSite> {
  const server = http.createServer(widgetSiteHandler(context));
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    const refuse = (error: Error) =>
      reject(new Error(`the widget origin could not listen on ${options.host}:${options.port} (${error.message}); set PARLEY_WIDGET_PORT to a free port, or off`));
    server.once('error', refuse);
    server.listen(options.port, options.host, () => {
      server.off('error', refuse);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host === '0.0.0.0' ? '127.0.0.1' : options.host;
  const origin = options.origin ?? `http://${host}:${port}`;
  logger.debug({ origin }, 'widgets served');
  return {
    origin,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The route that gives a member a ticket to a tool call's widget [AP20]. */
export function registerWidgetRoutes(app: FastifyInstance, context: ServerContext): void {
  bindRoute(app, context, 'openWidget', async ({ auth, params, request }): Promise<WidgetSession> => {
    const db = context.storage.reader;
    await requireMember(db, params.conversationId, auth.userId);
    const call = await findCall(db, params.conversationId, params.callId);
    const appRow = await requireEnabledApp(db, params.conversationId, call.app_id, 'params.callId');
    const listing = listingOf(appRow);
    const uri = listing?.tools.find((tool) => tool.name === call.tool)?.uiResourceUri ?? null;
    const resource = uri ? listing?.uiResources.find((item) => item.uri === uri) : undefined;
    if (!uri || !resource || resource.text === null) throw new ParleyError('NOT_FOUND', `${call.tool} has no widget`, { field: 'params.callId' });
    const mimeType = normalMimeType(resource.mimeType);
    if (mimeType !== WIDGET_MIME_TYPE && mimeType !== SKYBRIDGE_MIME_TYPE) {
      throw new ParleyError('NOT_FOUND', `${call.tool}'s resource is not a widget (${WIDGET_MIME_TYPE}, or ${SKYBRIDGE_MIME_TYPE})`, { field: 'params.callId' });
    }
    const origin = context.widgets.origin;
    if (!origin) throw new ParleyError('FORBIDDEN', 'this server shows no widgets (PARLEY_WIDGET_PORT=off)', { field: 'params.callId' });
    const hostOrigin = request.headers.origin;
    // A widget is framed by a page: the page's origin is the only one that may frame it, and talk to it.
    if (typeof hostOrigin !== 'string' || !/^https?:\/\/[^/\s]+$/.test(hostOrigin)) {
      throw new ParleyError('INVALID_INPUT', 'headers.origin: a widget is shown in a web page, and the request names no page origin', { field: 'headers.origin' });
    }
    const token = newSecret();
    const now = context.clock.now();
    const expiresAt = new Date(now.getTime() + WIDGET_TICKET_MS).toISOString();
    await context.log.write(async ({ db: write }) => {
      await write.deleteFrom('widget_tickets').where('expires_at', '<=', now.toISOString()).execute();
      await write
        .insertInto('widget_tickets')
        .values({
          token_hash: sha256(token),
          user_id: auth.userId,
          conversation_id: params.conversationId,
          app_id: appRow.id,
          call_id: call.id,
          uri,
          listing_hash: appRow.approved_hash ?? '',
          host_origin: hostOrigin,
          created_at: now.toISOString(),
          expires_at: expiresAt,
        })
        .execute();
    });
    const prefersBorder = resource.meta?.prefersBorder;
    return {
      url: `${origin}/proxy/${token}`,
      origin,
      uri,
      mimeType,
      csp: widgetCsp(resource.meta, [hostOrigin, origin]),
      prefersBorder: typeof prefersBorder === 'boolean' ? prefersBorder : null,
      expiresAt,
    };
  });
}
