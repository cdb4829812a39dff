import crypto from 'node:crypto';
import { FORECAST_URI, forecastHtml, SKYBRIDGE_HTML, SKYBRIDGE_URI, startWidgetApp, type WidgetApp } from '@parley/apps/test';
import { ParleyClient } from '@parley/sdk';
import { describe, expect, it } from 'vitest';
import { failure, startTestServer, type TestServer, type TestUser } from '../test/harness.js';
import { OPENAI_BRIDGE, widgetCsp, widgetPolicy, withOpenAiBridge } from './widgets.js';

const PAGE = 'http://parley.test:8080';

const PASSWORD = 'correct horse battery staple';

/** A person with two clients: one as a program (no Origin), one whose requests name the page's origin, as a browser's do. */
interface Person extends TestUser {
  page: ParleyClient;
}

async function person(server: TestServer): Promise<Person> {
  const username = `w${crypto.randomBytes(4).toString('hex')}`;
  const { client } = await ParleyClient.signUp(server.url, { username, password: PASSWORD, displayName: username });
  const { client: page } = await ParleyClient.signIn(server.url, { username, password: PASSWORD }, {
    fetch: (url, init) => fetch(url, { ...init, headers: { ...init.headers, origin: PAGE } }),
  });
  return { client, page, user: await client.api.getMe() };
}

/** Ann (administrator) adds and approves the widget app; Ann and Bob have a group where it is on, and Bob's call of the forecast. */
async function widgetWorld(server: TestServer, app: WidgetApp) {
  const ann = await person(server);
  const bob = await person(server);
  const carol = await person(server);
  const added = await ann.client.api.createApp({ body: { name: 'Forecast', url: app.url } });
  await ann.client.api.reviewApp({ params: { appId: added.id }, body: { decision: 'approve', hash: added.listing!.hash } });
  const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Trip', usernames: [bob.user.username] } })).conversation.id;
  await bob.client.api.setConversationApp({ params: { conversationId: group, appId: added.id }, body: { enabled: true } });
  const call = await bob.client.api.callAppTool({
    params: { conversationId: group, appId: added.id },
    body: { id: crypto.randomUUID(), tool: 'show_forecast', arguments: JSON.stringify({ city: 'Lyon' }) },
  });
  return { ann, bob, carol, appId: added.id, group, call };
}

describe('widgets', () => {
  it('[AP20] a member gets a ticket to a call\'s widget: the widget origin serves its outer frame and the approved document, with the policy', async () => {
    await using server = await startTestServer({ config: { widgetPort: 0 } });
    await using app = await startWidgetApp();
    const { bob, group, call } = await widgetWorld(server, app);
    expect(call.status).toBe('completed');
    const origin = server.server.widgetOrigin!;
    expect(origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(origin).not.toBe(server.url);

    const session = await bob.page.api.openWidget({ params: { conversationId: group, callId: call.id } });
    expect(session).toMatchObject({
      origin,
      uri: FORECAST_URI,
      mimeType: 'text/html;profile=mcp-app',
      csp: { connectDomains: ['https://api.forecast.example'], resourceDomains: ['https://cdn.forecast.example'], frameDomains: [] },
      prefersBorder: true,
    });
    expect(session.url.startsWith(`${origin}/proxy/`)).toBe(true);

    const proxy = await fetch(session.url);
    expect(proxy.status).toBe(200);
    expect(proxy.headers.get('content-security-policy')).toBe(`default-src 'none'; script-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors ${PAGE}`);
    const page = await proxy.text();
    expect(page).toContain('<body><script src="/proxy.js"></script></body>');
    expect(page).toContain(`content="${PAGE}"`);
    const documentPath = /name="parley-document" content="([^"]+)"/.exec(page)?.[1] ?? '';
    expect(documentPath).toMatch(/^\/document\//);
    expect((await fetch(`${origin}/proxy.js`)).headers.get('content-type')).toContain('javascript');

    const document = await fetch(`${origin}${documentPath}`);
    expect(document.status).toBe(200);
    expect(await document.text()).toBe(await forecastHtml());
    expect(document.headers.get('content-security-policy')).toBe(
      [
        "default-src 'none'",
        "script-src 'unsafe-inline' https://cdn.forecast.example",
        "style-src 'unsafe-inline' https://cdn.forecast.example",
        'img-src data: blob: https://cdn.forecast.example',
        'font-src data: https://cdn.forecast.example',
        'media-src data: blob: https://cdn.forecast.example',
        'connect-src https://api.forecast.example',
        "frame-src 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        `frame-ancestors ${origin} ${PAGE}`,
        'sandbox allow-scripts allow-forms',
      ].join('; '),
    );
    expect(document.headers.get('x-content-type-options')).toBe('nosniff');
    expect(document.headers.get('cache-control')).toBe('no-store');

    // The widget origin serves nothing else: not the API, not a guessed ticket.
    for (const path of ['/api/me', '/api/health', '/', `/document/${'a'.repeat(43)}`, '/proxy/x']) {
      expect((await fetch(`${origin}${path}`)).status, path).toBe(404);
    }
    expect((await fetch(`${origin}${documentPath}`, { method: 'POST' })).status).toBe(405);
  });

  it('[AP20] only a member, from a page, for a tool with a widget; the frames stop once the member, the app or its approval is gone', async () => {
    await using server = await startTestServer({ config: { widgetPort: 0 } });
    await using app = await startWidgetApp();
    const { ann, bob, carol, appId, group, call } = await widgetWorld(server, app);
    const origin = server.server.widgetOrigin!;

    expect(await failure(carol.page.api.openWidget({ params: { conversationId: group, callId: call.id } }))).toMatchObject({ code: 'NOT_FOUND' });
    // A request that names no page (a program, not a browser) gets no ticket.
    expect(await failure(bob.client.api.openWidget({ params: { conversationId: group, callId: call.id } }))).toMatchObject({ code: 'INVALID_INPUT', field: 'headers.origin' });

    const documentOf = async (user: Person) => {
      const session = await user.page.api.openWidget({ params: { conversationId: group, callId: call.id } });
      const page = await (await fetch(session.url)).text();
      return `${origin}${/name="parley-document" content="([^"]+)"/.exec(page)?.[1] ?? ''}`;
    };
    const annDocument = await documentOf(ann);
    const bobDocument = await documentOf(bob);
    expect((await fetch(annDocument)).status).toBe(200);

    // Ann leaves: her ticket serves nothing more; Bob's still does.
    await ann.client.api.leaveConversation({ params: { conversationId: group } });
    expect((await fetch(annDocument)).status).toBe(404);
    expect((await fetch(bobDocument)).status).toBe(200);

    // Switched off: no widget for anyone.
    await bob.client.api.setConversationApp({ params: { conversationId: group, appId }, body: { enabled: false } });
    expect((await fetch(bobDocument)).status).toBe(404);
    expect(await failure(bob.page.api.openWidget({ params: { conversationId: group, callId: call.id } }))).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('[AP21] applies only plain origins a resource declared, never Parley\'s own, and nothing else', () => {
    const csp = widgetCsp(
      {
        csp: {
          connectDomains: ['https://api.example.com', 'wss://live.example.com', "'self'", '*', 'https://a.example.com/path', 'http://plain.example.com', 'https://api.example.com', 'javascript:alert(1)', 'https://x.example.com; script-src *', PAGE, 'http://localhost:5173'],
          resourceDomains: ['https://*.cdn.example', 'https://*.parley.test', 42, 'data:'],
          frameDomains: 'https://not-a-list.example',
        },
      },
      [PAGE, 'http://widgets.parley.test:8081'],
    );
    expect(csp).toEqual({
      connectDomains: ['https://api.example.com', 'wss://live.example.com', 'http://localhost:5173'],
      resourceDomains: ['https://*.cdn.example'],
      frameDomains: [],
    });
    expect(widgetCsp(null, [])).toEqual({ connectDomains: [], resourceDomains: [], frameDomains: [] });
    const policy = widgetPolicy({ connectDomains: [], resourceDomains: [], frameDomains: ['https://maps.example'] }, ['http://w.test']);
    expect(policy).toContain("connect-src 'none'");
    expect(policy).toContain("script-src 'unsafe-inline';");
    expect(policy).toContain('frame-src https://maps.example');
    expect(policy).toContain('frame-ancestors http://w.test');
  });

  it('[AP23] a widget of the OpenAI Apps SDK (openai/outputTemplate, text/html+skybridge) is served with window.openai first, under its declared policy', async () => {
    await using server = await startTestServer({ config: { widgetPort: 0 } });
    await using app = await startWidgetApp();
    const { bob, appId, group } = await widgetWorld(server, app);
    const listed = (await bob.client.api.listConversationApps({ params: { conversationId: group } })).apps.find((item) => item.id === appId);
    expect(listed?.tools.find((tool) => tool.name === 'show_radar')?.uiResourceUri).toBe(SKYBRIDGE_URI);
    const radar = await bob.client.api.callAppTool({ params: { conversationId: group, appId }, body: { id: crypto.randomUUID(), tool: 'show_radar', arguments: JSON.stringify({ city: 'Nice' }) } });
    const session = await bob.page.api.openWidget({ params: { conversationId: group, callId: radar.id } });
    expect(session).toMatchObject({ uri: SKYBRIDGE_URI, mimeType: 'text/html+skybridge', csp: { connectDomains: ['https://radar.example'], resourceDomains: [], frameDomains: [] }, prefersBorder: false });
    const page = await (await fetch(session.url)).text();
    const document = await fetch(`${server.server.widgetOrigin}${/name="parley-document" content="([^"]+)"/.exec(page)?.[1] ?? ''}`);
    const text = await document.text();
    expect(text).toBe(withOpenAiBridge(SKYBRIDGE_HTML));
    expect(text.indexOf(OPENAI_BRIDGE)).toBeLessThan(text.indexOf('window.openai.toolOutput'));
    expect(text.startsWith('<!doctype html>\n<html><head><script>(() => {')).toBe(true);
    expect(document.headers.get('content-security-policy')).toContain('connect-src https://radar.example');
    expect(withOpenAiBridge('<p>bare</p>')).toBe(`<script>${OPENAI_BRIDGE}</script><p>bare</p>`);
    expect(withOpenAiBridge('<!DOCTYPE html><p>x</p>')).toBe(`<!DOCTYPE html><script>${OPENAI_BRIDGE}</script><p>x</p>`);
  });
});
