import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppConnection, hashListing } from './connection.js';
import { startFixtureApp, stdioFixtureCommand, WIDGET_HTML, WIDGET_MIME_TYPE, WIDGET_URI } from './test/fixture-apps.js';

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('AppConnection', () => {
  it('[AP3] negotiates the protocol, lists tools with schemas, annotations, UI links and the ui:// widget', async () => {
    await using app = await startFixtureApp();
    const connection = await AppConnection.open({ transport: 'http', url: app.url });
    try {
      const listing = await connection.list();
      expect(listing.protocolEra).toBe('modern');
      expect(listing.server).toEqual({ name: 'fixture-weather', version: '1.0.0' });
      const weather = listing.tools.find((tool) => tool.name === 'get_weather');
      expect(weather).toMatchObject({
        title: 'Weather',
        annotations: { readOnlyHint: true, openWorldHint: false },
        uiResourceUri: WIDGET_URI,
        visibility: ['app', 'model'],
      });
      expect(weather?.inputSchema).toMatchObject({ type: 'object', properties: { city: { type: 'string' } } });
      expect(weather?.outputSchema).toMatchObject({ type: 'object', properties: { temperature: { type: 'number' } } });
      expect(listing.tools.find((tool) => tool.name === 'refresh_card')?.visibility).toEqual(['app']);
      expect(listing.tools.find((tool) => tool.name === 'delete_note')?.annotations).toEqual({ readOnlyHint: false, destructiveHint: true });
      expect(listing.uiResources).toEqual([
        expect.objectContaining({ uri: WIDGET_URI, mimeType: WIDGET_MIME_TYPE, text: WIDGET_HTML, meta: expect.objectContaining({ csp: expect.any(Object) }) }),
      ]);
      expect(listing.hash).toBe(hashListing(listing));

      const result = await connection.callTool('get_weather', { city: 'Lyon' });
      expect(result.structuredContent).toEqual({ city: 'Lyon', temperature: 21 });
      expect(app.calls).toEqual([{ tool: 'get_weather', arguments: { city: 'Lyon' } }]);
    } finally {
      await connection.close();
    }
  });

  it('[AP4] the hash changes when the tool list drifts, and only then', async () => {
    await using app = await startFixtureApp();
    const first = await AppConnection.open({ transport: 'http', url: app.url });
    const before = await first.list();
    expect((await first.list()).hash).toBe(before.hash);
    await first.close();
    app.drift(true);
    const second = await AppConnection.open({ transport: 'http', url: app.url });
    const after = await second.list();
    await second.close();
    expect(after.hash).not.toBe(before.hash);
    expect(after.tools.map((tool) => tool.name)).toContain('export_everything');
  });

  it('[AP2] reaches a local app through its full command over stdio, with the same listing', async () => {
    await using app = await startFixtureApp();
    const http = await AppConnection.open({ transport: 'http', url: app.url });
    const overHttp = await http.list();
    await http.close();
    const connection = await AppConnection.open({ transport: 'stdio', command: stdioFixtureCommand() }, { timeoutMs: 20_000 });
    try {
      const listing = await connection.list();
      expect(listing.hash).toBe(overHttp.hash);
      const result = await connection.callTool('get_weather', { city: 'Brest' });
      expect(result.structuredContent).toEqual({ city: 'Brest', temperature: 21 });
    } finally {
      await connection.close();
    }
  }, 60_000);

  it("[AP2] a local app's child gets only PATH and HOME from Parley's environment, never its settings", async () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-env-'));
    const envReport = path.join(directory, 'env.json');
    // What the server's own process has: its settings, and what a shell leaves behind.
    const given = { PARLEY_SECRET_KEY: 'x'.repeat(40), DATABASE_URL: 'postgres://parley:secret@db/parley', SHELL: '/bin/sh', USER: 'parley', LOGNAME: 'parley', TERM: 'xterm' };
    const saved = Object.fromEntries(Object.keys(given).map((key) => [key, process.env[key]]));
    Object.assign(process.env, given);
    try {
      const connection = await AppConnection.open({ transport: 'stdio', command: stdioFixtureCommand({ envReport }) }, { timeoutMs: 20_000 });
      await connection.close();
      expect(JSON.parse(fs.readFileSync(envReport, 'utf8'))).toEqual(['HOME', 'PATH']);
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      fs.rmSync(directory, { recursive: true, force: true });
    }
  }, 60_000);

  it('[AP12] hears the progress a tool reports, in order', async () => {
    await using app = await startFixtureApp();
    const connection = await AppConnection.open({ transport: 'http', url: app.url });
    try {
      const heard: unknown[] = [];
      const result = await connection.callTool('count_slowly', { steps: 3, delayMs: 5 }, { onProgress: (progress) => heard.push(progress) });
      expect(result.content).toEqual([{ type: 'text', text: 'counted to 3' }]);
      expect(heard).toEqual([1, 2, 3].map((step) => ({ progress: step, total: 3, message: `step ${step} of 3` })));
    } finally {
      await connection.close();
    }
  });

  it('[AP13] an aborted call rejects at once and the app sees it cancelled', async () => {
    await using app = await startFixtureApp();
    const connection = await AppConnection.open({ transport: 'http', url: app.url });
    try {
      const stop = new AbortController();
      const started = performance.now();
      const running = connection.callTool('slow_search', { query: 'flights', seconds: 30 }, { signal: stop.signal });
      await until(() => app.calls.length === 1);
      stop.abort(new Error('the answer was stopped'));
      await expect(running).rejects.toThrow();
      expect(performance.now() - started).toBeLessThan(10_000);
      await until(() => app.cancelled.length === 1);
      expect(app.cancelled).toEqual(['flights']);
    } finally {
      await connection.close();
    }
  });

  for (const era of ['modern', 'legacy'] as const) {
    it(`[AP14] is told when a ${era} app's tools change at runtime, and lists the change`, async () => {
      await using app = await startFixtureApp({ era });
      let told = 0;
      const connection = await AppConnection.open({ transport: 'http', url: app.url }, { onListChanged: () => (told += 1) });
      try {
        expect(connection.protocolEra).toBe(era);
        const before = await connection.list();
        expect(told).toBe(0);
        app.changeTools(true);
        await until(() => told > 0);
        const after = await connection.list();
        expect(after.hash).not.toBe(before.hash);
        expect(after.tools.map((tool) => tool.name)).toContain('export_everything');
      } finally {
        await connection.close();
      }
    });
  }

  it('[AP3] a server of the 2025 era (initialize, no server/discover) is listed and called through auto negotiation, with the same hash', async () => {
    await using modern = await startFixtureApp();
    await using legacy = await startFixtureApp({ era: 'legacy' });
    const first = await AppConnection.open({ transport: 'http', url: modern.url });
    const modernListing = await first.list();
    await first.close();
    const connection = await AppConnection.open({ transport: 'http', url: legacy.url });
    try {
      const listing = await connection.list();
      expect(listing.protocolEra).toBe('legacy');
      expect(listing.server).toEqual({ name: 'fixture-weather', version: '1.0.0' });
      expect(listing.hash).toBe(modernListing.hash);
      const heard: number[] = [];
      const result = await connection.callTool('count_slowly', { steps: 2, delayMs: 0 }, { onProgress: (progress) => heard.push(progress.progress) });
      expect(result.content).toEqual([{ type: 'text', text: 'counted to 2' }]);
      expect(heard).toEqual([1, 2]);
      expect((await connection.callTool('get_weather', { city: 'Rennes' })).structuredContent).toEqual({ city: 'Rennes', temperature: 21 });
    } finally {
      await connection.close();
    }
  });

  it('refuses to connect to an address where no app answers', async () => {
    await expect(AppConnection.open({ transport: 'http', url: 'http://127.0.0.1:9/mcp' }, { timeoutMs: 2000 })).rejects.toThrow();
  });
});
