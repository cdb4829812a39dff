import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type RunningServer, silentLogger, startServer } from '@parley/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, contentSecurityPolicy, webSite } from './web-site.js';

/** The web client's files as the parley package serves them, next to the API, over loopback. */
describe('web site', () => {
  let server: RunningServer;
  let dataDir: string;
  const page = '<!doctype html><html><head><script type="module" src="/assets/app-abc123.js"></script></head><body><div id="root"></div></body></html>';

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-web-'));
    const site = path.join(dataDir, 'site');
    fs.mkdirSync(path.join(site, 'assets'), { recursive: true });
    fs.writeFileSync(path.join(site, 'index.html'), page);
    fs.writeFileSync(path.join(site, 'assets', 'app-abc123.js'), 'console.log("app")');
    const handler = webSite(site);
    expect(handler).toBeDefined();
    server = await startServer({ config: { port: 0, host: '127.0.0.1', dataDir, durability: 'process' }, logger: silentLogger(), ...(handler ? { site: handler } : {}) });
  });
  afterAll(async () => {
    await server?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('[WB1] serves the app at / with a strict Content-Security-Policy', async () => {
    const response = await fetch(`${server.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const policy = response.headers.get('content-security-policy') ?? '';
    expect(policy).toBe(CONTENT_SECURITY_POLICY);
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toContain('unsafe-inline');
    expect(policy).not.toContain('unsafe-eval');
    expect(policy).toContain("frame-ancestors 'none'");
    // No widget origin here: the page frames nothing.
    expect(policy).toContain("frame-src 'none'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await response.text()).toBe(page);
  });

  it('[WB2] answers the page for client routes and 404 for a missing file', async () => {
    for (const route of ['/c/abc123', '/invite/AbCdEfGhIjKlMnOpQrSt', '/sign-in']) {
      const response = await fetch(`${server.url}${route}`);
      expect(response.status, route).toBe(200);
      expect(await response.text()).toBe(page);
    }
    const asset = await fetch(`${server.url}/assets/app-abc123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect(asset.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    const missing = await fetch(`${server.url}/assets/missing.js`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('[WB3] leaves /api to the API: JSON answers and JSON 404s, never the page', async () => {
    const health = await fetch(`${server.url}/api/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    for (const route of ['/api', '/api/', '/api/no-such-endpoint', '/api/c/abc']) {
      const response = await fetch(`${server.url}${route}`);
      expect(response.status, route).toBe(404);
      expect(response.headers.get('content-type'), route).toMatch(/application\/json/);
      expect(await response.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    }
    const me = await fetch(`${server.url}/api/me`);
    expect(me.status).toBe(401);
    // Only GET and HEAD reach the site.
    const post = await fetch(`${server.url}/c/abc`, { method: 'POST' });
    expect(post.status).toBe(404);
    expect(await post.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect((await fetch(`${server.url}/`)).headers.get('cache-control')).toBe('no-cache');
  });

  it('[WB1] serves nothing from a folder without a build', () => {
    expect(webSite(path.join(dataDir, 'no-such-folder'))).toBeUndefined();
  });

  it('[WB1] frames only from the widget origin when there is one', async () => {
    const site = path.join(dataDir, 'site');
    let origin: string | null = null;
    const handler = webSite(site, { widgetOrigin: () => origin });
    await using widgets = await startServer({ config: { port: 0, host: '127.0.0.1', dataDir: path.join(dataDir, 'w'), durability: 'process', widgetPort: 0 }, logger: silentLogger(), ...(handler ? { site: handler } : {}) });
    origin = widgets.widgetOrigin;
    expect(origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const policy = (await fetch(`${widgets.url}/`)).headers.get('content-security-policy');
    expect(policy).toBe(contentSecurityPolicy(origin));
    expect(policy).toContain(`frame-src ${origin}`);
  });
});
