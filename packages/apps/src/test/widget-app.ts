import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { build } from 'esbuild';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';

/**
 * An MCP app with a real widget, for the widget tests: `show_forecast` (read-only, for the model
 * and the widget) renders in `ui://forecast/widget.html`, a document of type
 * `text/html;profile=mcp-app` whose script is the ext-apps `App` (bundled here, inline, as an app's
 * build would make it). The widget declares CSP domains, reports its size, reads the host's theme
 * and locale, calls `refresh_forecast` (read-only, widget only) and `pin_city` (changes things,
 * widget only: it needs the member's confirmation), asks to open a link and for full screen.
 */

export const FORECAST_URI = 'ui://forecast/widget.html';
/** A widget written for the OpenAI Apps SDK (`window.openai`, `text/html+skybridge`), linked by `openai/outputTemplate`. */
export const SKYBRIDGE_URI = 'ui://forecast/skybridge.html';
export const SKYBRIDGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>Rain radar</title>
<style>body { margin: 0; padding: 10px; font: 14px system-ui, sans-serif; } :root[data-theme="dark"] body { background: #111827; color: #f9fafb; }</style>
</head><body>
<h2 id="radar">Radar: waiting</h2>
<p id="globals"></p>
<button id="again" type="button">Rain again</button>
<button id="away" type="button">Radar site</button>
<p id="said"></p>
<script>
  const show = () => {
    const out = window.openai.toolOutput;
    document.documentElement.dataset.theme = window.openai.theme;
    document.getElementById('radar').textContent = out ? 'Radar: ' + out.city + ', ' + out.rain + ' mm' : 'Radar: waiting';
    document.getElementById('globals').textContent = 'openai: ' + window.openai.theme + ' · ' + window.openai.locale + ' · ' + window.openai.displayMode + ' · input ' + (window.openai.toolInput.city || '?');
  };
  window.addEventListener('openai:set_globals', show);
  show();
  document.getElementById('again').addEventListener('click', async () => {
    const result = await window.openai.callTool('refresh_forecast', { city: window.openai.toolInput.city || '?' });
    document.getElementById('said').textContent = 'called: ' + result.content.map((part) => part.text).join(' ');
  });
  document.getElementById('away').addEventListener('click', async () => {
    try { await window.openai.openExternal({ href: 'https://forecast.example/radar' }); document.getElementById('said').textContent = 'opened'; }
    catch (error) { document.getElementById('said').textContent = 'not opened'; }
  });
</script>
</body></html>`;
export const FORECAST_CSP = { connectDomains: ['https://api.forecast.example'], resourceDomains: ['https://cdn.forecast.example'] };
const MIME_TYPE = 'text/html;profile=mcp-app';

export interface WidgetApp extends AsyncDisposable {
  readonly url: string;
  /** Every tool call the app received: tool and arguments. */
  readonly calls: { tool: string; arguments: Record<string, unknown> }[];
  /** Lets the `show_forecast` calls made with `hold: true` answer. */
  release(): void;
  close(): Promise<void>;
}

let bundled: Promise<string> | undefined;

/** The widget's script with the ext-apps `App`, as one classic script (an app ships one HTML file). */
function widgetScript(): Promise<string> {
  bundled ??= build({
    entryPoints: [new URL('./widget-view.js', import.meta.url).pathname],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
  }).then((result) => result.outputFiles[0]?.text ?? '');
  return bundled;
}

/** The widget's document: markup, a little style, and the bundled script, inline. */
export async function forecastHtml(): Promise<string> {
  const script = (await widgetScript()).replace(/<\/script/gi, '<\\/script');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Forecast</title>
<style>
  :root { color-scheme: light; font: 14px/1.4 system-ui, sans-serif; }
  :root[data-theme="dark"] { color-scheme: dark; }
  body { margin: 0; padding: 12px; background: #f0f9ff; color: #0c4a6e; }
  :root[data-theme="dark"] body { background: #082f49; color: #e0f2fe; }
  h1 { font-size: 18px; margin: 0 0 6px; }
  ul { margin: 0; padding-left: 18px; }
  .row { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; }
  button { font: inherit; padding: 4px 8px; border-radius: 6px; border: 1px solid currentColor; background: transparent; color: inherit; }
  small { display: block; margin-top: 6px; opacity: .8; }
</style></head>
<body>
  <ul id="forecast"><li>Waiting for the forecast…</li></ul>
  <div class="row">
    <button id="refresh" type="button">Refresh</button>
    <button id="pin" type="button">Pin city</button>
    <button id="link" type="button">Open forecast</button>
    <button id="grow" type="button">More</button>
    <button id="fullscreen" type="button">Full screen</button>
  </div>
  <div id="more"></div>
  <small id="host"></small>
  <small id="mode"></small>
  <small id="status" data-testid="widget-status"></small>
  <script type="module">${script}</script>
</body></html>`;
}

interface Gate {
  held: Promise<void>;
  release(): void;
}

function newGate(): Gate {
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  return { held, release };
}

function buildServer(calls: WidgetApp['calls'], html: string, gate: Gate): McpServer {
  const server = new McpServer({ name: 'fixture-forecast', version: '1.0.0' }, { capabilities: { tools: {}, resources: {} } });
  const forecast = (city: string) => ({
    city,
    temperature: 19,
    days: [
      { day: 'Mon', sky: 'sunny' },
      { day: 'Tue', sky: 'cloudy' },
      { day: 'Wed', sky: 'rain' },
    ],
  });
  server.registerTool(
    'show_forecast',
    {
      title: 'Forecast',
      description: 'The forecast for a city, shown in a widget (`hold`: answers only once the test releases it, for tests of a call still running).',
      inputSchema: z.object({ city: z.string(), hold: z.boolean().default(false) }),
      annotations: { readOnlyHint: true },
      _meta: { ui: { resourceUri: FORECAST_URI, visibility: ['model', 'app'] } },
    },
    async ({ city, hold }) => {
      calls.push({ tool: 'show_forecast', arguments: { city } });
      if (hold) await gate.held;
      return { content: [{ type: 'text', text: `${city}: 19 °C, sunny then rain` }], structuredContent: forecast(city) };
    },
  );
  server.registerTool(
    'refresh_forecast',
    {
      description: 'Refresh the forecast (for the widget).',
      inputSchema: z.object({ city: z.string() }),
      annotations: { readOnlyHint: true },
      _meta: { ui: { resourceUri: FORECAST_URI, visibility: ['app'] } },
    },
    async ({ city }) => {
      calls.push({ tool: 'refresh_forecast', arguments: { city } });
      return { content: [{ type: 'text', text: `${city} is 20 °C now` }], structuredContent: forecast(city) };
    },
  );
  server.registerTool(
    'pin_city',
    {
      description: 'Pin a city to the saved list (for the widget).',
      inputSchema: z.object({ city: z.string() }),
      annotations: { readOnlyHint: false },
      _meta: { ui: { resourceUri: FORECAST_URI, visibility: ['app'] } },
    },
    async ({ city }) => {
      calls.push({ tool: 'pin_city', arguments: { city } });
      return { content: [{ type: 'text', text: `${city} pinned` }] };
    },
  );
  server.registerTool(
    'show_radar',
    {
      description: 'The rain radar for a city, in a widget written for the OpenAI Apps SDK.',
      inputSchema: z.object({ city: z.string() }),
      annotations: { readOnlyHint: true },
      _meta: { 'openai/outputTemplate': SKYBRIDGE_URI },
    },
    async ({ city }) => {
      calls.push({ tool: 'show_radar', arguments: { city } });
      return { content: [{ type: 'text', text: `${city}: 4 mm of rain` }], structuredContent: { city, rain: 4 } };
    },
  );
  const openaiMeta = { 'openai/widgetCSP': { connect_domains: ['https://radar.example'], resource_domains: [] }, 'openai/widgetPrefersBorder': false };
  server.registerResource('radar-widget', SKYBRIDGE_URI, { title: 'Rain radar', mimeType: 'text/html+skybridge', _meta: openaiMeta }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/html+skybridge', text: SKYBRIDGE_HTML, _meta: openaiMeta }],
  }));
  const meta = { ui: { csp: FORECAST_CSP, prefersBorder: true } };
  server.registerResource('forecast-widget', FORECAST_URI, { title: 'Forecast widget', mimeType: MIME_TYPE, _meta: meta }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: MIME_TYPE, text: html, _meta: meta }],
  }));
  return server;
}

/** Starts the widget app on a loopback port; its MCP endpoint is `/mcp` (the current protocol, stateless). */
export async function startWidgetApp(): Promise<WidgetApp> {
  const calls: WidgetApp['calls'] = [];
  const html = await forecastHtml();
  let gate = newGate();
  const handler = createMcpHandler(() => buildServer(calls, html, gate));
  let origin = '';
  const server = http.createServer((request, response) => {
    if (!request.url?.startsWith('/mcp')) {
      response.writeHead(404).end();
      return;
    }
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const headers = new Headers();
      for (const [name, value] of Object.entries(request.headers)) if (typeof value === 'string') headers.set(name, value);
      const method = request.method ?? 'GET';
      const answer = await handler.fetch(
        new Request(new URL(request.url ?? '/', origin), { method, headers, ...(method === 'GET' || method === 'HEAD' ? {} : { body: Buffer.concat(chunks) }) }),
      );
      const out: Record<string, string> = {};
      answer.headers.forEach((value, name) => (out[name] = value));
      response.writeHead(answer.status, out);
      if (answer.body) Readable.fromWeb(answer.body as import('node:stream/web').ReadableStream).pipe(response);
      else response.end();
    })().catch(() => {
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = async () => {
    await handler.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  const release = () => {
    gate.release();
    gate = newGate();
  };
  return { url: `${origin}/mcp`, calls, release, close, [Symbol.asyncDispose]: close };
}
