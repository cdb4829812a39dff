import { describe, expect, it } from 'vitest';
import { AppConnection, hashListing } from './connection.js';
import { startFixtureApp, stdioFixtureCommand, WIDGET_HTML, WIDGET_MIME_TYPE, WIDGET_URI } from './test/fixture-apps.js';

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

  it('refuses to connect to an address where no app answers', async () => {
    await expect(AppConnection.open({ transport: 'http', url: 'http://127.0.0.1:9/mcp' }, { timeoutMs: 2000 })).rejects.toThrow();
  });
});
