import { startFixtureApp, stdioFixtureCommand, WIDGET_HTML, WIDGET_MIME_TYPE, WIDGET_URI, type FixtureApp } from '@parley/apps/test';
import { type AdminApp, type RouteDefinition, type RouteName, routes } from '@parley/protocol';
import { applyEvent, fetchConversationState } from '@parley/sdk';
import { describe, expect, it } from 'vitest';
import { setAdministrator } from '../accounts/admins.js';
import { say } from '../test/assistant.js';
import { failure, messageId, startTestServer, type TestServer, type TestUser } from '../test/harness.js';

/** A server whose first account (an administrator) added the fixture app and approved it, and a group of three. */
async function approvedWorld(server: TestServer, app: FixtureApp) {
  const ann = await server.user();
  const bob = await server.user();
  const carol = await server.user();
  const added = await ann.client.api.createApp({ body: { name: 'Weather', url: app.url } });
  const approved = await ann.client.api.reviewApp({ params: { appId: added.id }, body: { decision: 'approve', hash: added.listing!.hash } });
  const group = (
    await ann.client.api.createConversation({ body: { kind: 'group', title: 'Trip', usernames: [bob.user.username, carol.user.username] } })
  ).conversation.id;
  return { ann, bob, carol, app: approved, group };
}

/** The assistant's turn answering `asker`'s message: its tool calls are confirmed by `asker`. */
async function turnFor(server: TestServer, asker: TestUser, group: string) {
  const trigger = await say(asker.client, group, '@assistant what about the weather?');
  return server.assistant.client.api.startTurn({ params: { conversationId: group }, body: { id: messageId(), triggerMessageId: trigger.id } });
}

describe('administrators', () => {
  it('[AP1] the first account of a fresh install is an administrator, and /api/me says so', async () => {
    await using server = await startTestServer();
    const first = await server.user();
    const second = await server.user();
    expect(first.user.admin).toBe(true);
    expect(second.user.admin).toBe(false);
    expect((await second.client.api.getMe()).admin).toBe(false);
    expect((await first.client.api.getMe()).admin).toBe(true);
  });

  it('[AP1] PARLEY_ADMINS names administrators too', async () => {
    await using server = await startTestServer({ config: { admins: ['named_admin'] } });
    await server.user();
    const named = await server.user('named_admin');
    expect(named.user.admin).toBe(true);
    expect((await named.client.api.listAdminApps()).apps).toEqual([]);
  });

  it('[AP1] `parley admin add|remove` makes an account an administrator, or no longer one', async () => {
    await using server = await startTestServer();
    await server.user();
    const bob = await server.user();
    const config = server.server.context.config;
    expect(await setAdministrator(config, bob.user.username, true)).toBe(true);
    expect((await bob.client.api.getMe()).admin).toBe(true);
    expect((await bob.client.api.listAdminApps()).apps).toEqual([]);
    expect(await setAdministrator(config, bob.user.username, false)).toBe(true);
    expect(await failure(bob.client.api.listAdminApps())).toMatchObject({ code: 'FORBIDDEN' });
    expect(await setAdministrator(config, 'nobody_by_that_name', true)).toBe(false);
    // The assistant's bot account is never an administrator.
    expect(await setAdministrator(config, 'assistant', true)).toBe(false);
  });

  it('[AP1] refuses every admin route to a member and to the assistant with 403, and nothing changes', async () => {
    await using server = await startTestServer();
    await using app = await startFixtureApp();
    const ann = await server.user();
    const bob = await server.user();
    const added = await ann.client.api.createApp({ body: { name: 'Weather', url: app.url } });
    const adminRoutes = (Object.entries(routes) as [RouteName, RouteDefinition][]).filter(([, route]) => route.caller === 'admin');
    expect(adminRoutes.map(([name]) => name).sort()).toEqual(['createApp', 'deleteApp', 'getAdminApp', 'listAdminApps', 'refreshApp', 'reviewApp']);
    const calls: Record<string, (client: typeof bob.client) => Promise<unknown>> = {
      listAdminApps: (client) => client.api.listAdminApps(),
      createApp: (client) => client.api.createApp({ body: { name: 'Mine', url: app.url } }),
      getAdminApp: (client) => client.api.getAdminApp({ params: { appId: added.id } }),
      refreshApp: (client) => client.api.refreshApp({ params: { appId: added.id } }),
      reviewApp: (client) => client.api.reviewApp({ params: { appId: added.id }, body: { decision: 'approve', hash: added.listing!.hash } }),
      deleteApp: (client) => client.api.deleteApp({ params: { appId: added.id } }),
    };
    const before = await ann.client.api.listAdminApps();
    for (const [name] of adminRoutes) {
      for (const client of [bob.client, server.assistant.client]) {
        const error = await failure(calls[name]!(client));
        expect({ name, code: error.code, status: error.status }).toEqual({ name, code: 'FORBIDDEN', status: 403 });
      }
    }
    expect(await ann.client.api.listAdminApps()).toEqual(before);
    expect((await bob.client.api.listApps()).apps).toEqual([]);
  });
});

describe('the directory', () => {
  it('[AP3] lists an added app for review; [AP5] only after approval is it offered to members', async () => {
    await using server = await startTestServer();
    await using app = await startFixtureApp();
    const ann = await server.user();
    const bob = await server.user();
    const added: AdminApp = await ann.client.api.createApp({ body: { name: 'Weather', url: app.url } });
    expect(added).toMatchObject({ name: 'Weather', transport: 'http', url: app.url, status: 'review', approvedHash: null, error: null, addedBy: ann.user.id });
    expect(added.listing?.protocolEra).toBe('modern');
    expect(added.listing?.tools.map((tool) => tool.name).sort()).toEqual(['count_slowly', 'delete_note', 'get_weather', 'long_report', 'read_inbox', 'refresh_card', 'slow_search']);
    expect(added.listing?.uiResources).toEqual([expect.objectContaining({ uri: WIDGET_URI, mimeType: WIDGET_MIME_TYPE, text: WIDGET_HTML })]);
    expect((await bob.client.api.listApps()).apps).toEqual([]);

    const group = (await bob.client.api.createConversation({ body: { kind: 'group', title: 'G' } })).conversation.id;
    const early = await failure(bob.client.api.setConversationApp({ params: { conversationId: group, appId: added.id }, body: { enabled: true } }));
    expect(early).toMatchObject({ code: 'NOT_FOUND', field: 'params.appId' });

    // An approval names the listing it approves.
    const stale = await failure(ann.client.api.reviewApp({ params: { appId: added.id }, body: { decision: 'approve', hash: '0'.repeat(64) } }));
    expect(stale).toMatchObject({ code: 'CONFLICT', field: 'body.hash' });
    const approved = await ann.client.api.reviewApp({ params: { appId: added.id }, body: { decision: 'approve', hash: added.listing!.hash } });
    expect(approved).toMatchObject({ status: 'approved', approvedHash: added.listing!.hash, reviewedBy: ann.user.id });
    const offered = (await bob.client.api.listApps()).apps;
    expect(offered.map((item) => item.name)).toEqual(['Weather']);
    expect(offered[0]).not.toHaveProperty('url');

    const rejected = await ann.client.api.reviewApp({ params: { appId: added.id }, body: { decision: 'reject', hash: added.listing!.hash } });
    expect(rejected.status).toBe('rejected');
    expect((await bob.client.api.listApps()).apps).toEqual([]);
  });

  it('[AP3] records why an app could not be reached, and lists it once it answers', async () => {
    await using server = await startTestServer({ config: { appTimeoutMs: 2000 } });
    const ann = await server.user();
    const added = await ann.client.api.createApp({ body: { name: 'Down', url: 'http://127.0.0.1:9/mcp' } });
    expect(added.status).toBe('review');
    expect(added.listing).toBeNull();
    expect(added.error).toEqual(expect.any(String));
    const refused = await failure(ann.client.api.reviewApp({ params: { appId: added.id }, body: { decision: 'approve', hash: 'a'.repeat(64) } }));
    expect(refused.code).toBe('CONFLICT');
  });

  it('[AP2] refuses a local command unless the installation allows stdio apps', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const error = await failure(ann.client.api.createApp({ body: { name: 'Local', command: ['/usr/bin/env', 'node', 'server.js'] } }));
    expect(error).toMatchObject({ code: 'FORBIDDEN', field: 'body.command' });
    expect((await ann.client.api.listAdminApps()).apps).toEqual([]);
  });

  it('[AP30] the directory says whether local apps are accepted, as the installation set PARLEY_APPS_STDIO', async () => {
    {
      await using server = await startTestServer();
      const ann = await server.user();
      expect(await ann.client.api.listAdminApps()).toEqual({ apps: [], localApps: false });
    }
    {
      await using server = await startTestServer({ config: { appsStdio: true } });
      const ann = await server.user();
      expect(await ann.client.api.listAdminApps()).toEqual({ apps: [], localApps: true });
    }
  });

  it('[AP2] with PARLEY_APPS_STDIO=on an administrator adds a local app by its full command, and it is called like any other', async () => {
    await using server = await startTestServer({ config: { appsStdio: true } });
    const ann = await server.user();
    const relative = await failure(ann.client.api.createApp({ body: { name: 'Local', command: ['node', 'server.js'] } }));
    expect(relative).toMatchObject({ code: 'INVALID_INPUT', field: 'body.command.0' });
    const added = await ann.client.api.createApp({ body: { name: 'Local weather', command: stdioFixtureCommand() } });
    expect(added).toMatchObject({ transport: 'stdio', url: null, command: stdioFixtureCommand(), status: 'review', error: null });
    await ann.client.api.reviewApp({ params: { appId: added.id }, body: { decision: 'approve', hash: added.listing!.hash } });
    const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Local' } })).conversation.id;
    await ann.client.api.setConversationApp({ params: { conversationId: group, appId: added.id }, body: { enabled: true } });
    const turn = await turnFor(server, ann, group);
    const done = await server.assistant.client.api.callAppTool({
      params: { conversationId: group, appId: added.id },
      body: { id: messageId(), tool: 'get_weather', arguments: '{"city":"Brest"}', turnId: turn.id },
    });
    expect(done).toMatchObject({ status: 'completed', result: { structuredContent: { city: 'Brest', temperature: 21 } } });
  }, 60_000);

  it('[AP4] an approved app whose tools change goes back to review and is offered nowhere until approved again', async () => {
    await using server = await startTestServer();
    await using app = await startFixtureApp();
    const { ann, bob, app: approved, group } = await approvedWorld(server, app);
    await bob.client.api.setConversationApp({ params: { conversationId: group, appId: approved.id }, body: { enabled: true } });
    const turn = await turnFor(server, bob, group);
    const call = () =>
      server.assistant.client.api.callAppTool({
        params: { conversationId: group, appId: approved.id },
        body: { id: messageId(), tool: 'get_weather', arguments: '{"city":"Oslo"}', turnId: turn.id },
      });
    expect((await call()).status).toBe('completed');

    app.drift(true);
    const refreshed = await ann.client.api.refreshApp({ params: { appId: approved.id } });
    expect(refreshed.status).toBe('review');
    expect(refreshed.listing!.hash).not.toBe(approved.approvedHash);
    expect(refreshed.listing!.tools.map((tool) => tool.name)).toContain('export_everything');
    expect((await bob.client.api.listApps()).apps).toEqual([]);
    const listed = await bob.client.api.listConversationApps({ params: { conversationId: group } });
    expect(listed.enabled.map((item) => item.appId)).toEqual([approved.id]);
    expect(listed.apps).toEqual([]);
    expect(await failure(call())).toMatchObject({ code: 'FORBIDDEN', field: 'params.appId' });

    const again = await ann.client.api.reviewApp({ params: { appId: approved.id }, body: { decision: 'approve', hash: refreshed.listing!.hash } });
    expect(again.status).toBe('approved');
    expect((await call()).status).toBe('completed');
  });

  it('[AP4] drift found on reconnecting (after a restart), without a refresh', async () => {
    await using server = await startTestServer();
    await using app = await startFixtureApp();
    const { ann, bob, app: approved, group } = await approvedWorld(server, app);
    await bob.client.api.setConversationApp({ params: { conversationId: group, appId: approved.id }, body: { enabled: true } });
    app.drift(true);
    await server.restart();
    const turn = await turnFor(server, bob, group);
    const error = await failure(
      server.assistant.client.api.callAppTool({
        params: { conversationId: group, appId: approved.id },
        body: { id: messageId(), tool: 'get_weather', arguments: '{"city":"Oslo"}', turnId: turn.id },
      }),
    );
    expect(error.code).toBe('CONFLICT');
    expect((await ann.client.api.getAdminApp({ params: { appId: approved.id } })).status).toBe('review');
    expect(app.calls).toEqual([]);
  });
});

describe('apps in a conversation', () => {
  it('[AP6] any member switches an approved app on and off; another member sees the events and the reducer follows', async () => {
    await using server = await startTestServer();
    await using app = await startFixtureApp();
    const { bob, carol, app: approved, group } = await approvedWorld(server, app);
    const carolStream = await server.connect(carol.client);
    const before = await fetchConversationState(carol.client, group);
    const enabled = await bob.client.api.setConversationApp({ params: { conversationId: group, appId: approved.id }, body: { enabled: true } });
    expect(enabled.enabled).toEqual([{ appId: approved.id, name: 'Weather', enabledBy: bob.user.id, enabledAt: expect.any(String) }]);
    // Switching on what is on changes nothing.
    await bob.client.api.setConversationApp({ params: { conversationId: group, appId: approved.id }, body: { enabled: true } });
    await carolStream.until((events) => events.some((event) => event.type === 'app-enabled'));
    const listed = await carol.client.api.listConversationApps({ params: { conversationId: group } });
    expect(listed.enabled).toEqual(enabled.enabled);
    expect(listed.apps.map((item) => item.id)).toEqual([approved.id]);

    await carol.client.api.setConversationApp({ params: { conversationId: group, appId: approved.id }, body: { enabled: false } });
    await carolStream.until((events) => events.some((event) => event.type === 'app-disabled'));
    const received = carolStream.events.filter((event) => event.conversationId === group && event.seq > before.conversation.lastSeq);
    expect(received.map((event) => event.type)).toEqual(['app-enabled', 'app-disabled']);
    const applied = received.reduce(applyEvent, before);
    expect(applied).toEqual(await fetchConversationState(carol.client, group));
    expect(applied.apps).toEqual([]);
  });

  it('[AP6] a member who reconnects gets the switch in the events after their position', async () => {
    await using server = await startTestServer();
    await using app = await startFixtureApp();
    const { bob, carol, app: approved, group } = await approvedWorld(server, app);
    const position = (await carol.client.api.getConversation({ params: { conversationId: group } })).conversation.lastSeq;
    await bob.client.api.setConversationApp({ params: { conversationId: group, appId: approved.id }, body: { enabled: true } });
    const stream = await server.connect(carol.client, { [group]: position });
    expect(stream.events.filter((event) => event.conversationId === group).map((event) => event.type)).toEqual(['app-enabled']);
  });

  it('[AP6] removing an app from the directory switches it off in each conversation, as an event', async () => {
    await using server = await startTestServer();
    await using app = await startFixtureApp();
    const { ann, bob, app: approved, group } = await approvedWorld(server, app);
    await bob.client.api.setConversationApp({ params: { conversationId: group, appId: approved.id }, body: { enabled: true } });
    await ann.client.api.deleteApp({ params: { appId: approved.id } });
    const events = await bob.client.api.listEvents({ params: { conversationId: group } });
    expect(events.events.at(-1)).toMatchObject({ type: 'app-disabled', appId: approved.id });
    expect((await bob.client.api.listConversationApps({ params: { conversationId: group } })).enabled).toEqual([]);
  });
});

describe('tool calls', () => {
  async function enabledWorld(server: TestServer, app: FixtureApp) {
    const world = await approvedWorld(server, app);
    await world.bob.client.api.setConversationApp({ params: { conversationId: world.group, appId: world.app.id }, body: { enabled: true } });
    const turn = await turnFor(server, world.bob, world.group);
    const call = (tool: string, args: Record<string, unknown>, id = messageId()) =>
      server.assistant.client.api.callAppTool({
        params: { conversationId: world.group, appId: world.app.id },
        body: { id, tool, arguments: JSON.stringify(args), turnId: turn.id },
      });
    return { ...world, turn, call };
  }

  it('[AP7] a read-only tool runs at once, and the call is recorded for every member', async () => {
    await using server = await startTestServer();
    await using app = await startFixtureApp();
    const { carol, group, call, turn, bob } = await enabledWorld(server, app);
    const result = await call('get_weather', { city: 'Lyon' });
    expect(result).toMatchObject({
      status: 'completed',
      tool: 'get_weather',
      arguments: { city: 'Lyon' },
      askedBy: bob.user.id,
      requestedBy: server.assistant.userId,
      turnId: turn.id,
      readOnly: true,
      approval: 'read-only',
      isError: false,
      error: null,
    });
    expect(result.result).toMatchObject({ structuredContent: { city: 'Lyon', temperature: 21 } });
    expect(result.resultBytes).toBeGreaterThan(0);
    expect(result.durationMs).toEqual(expect.any(Number));
    expect(app.calls).toEqual([{ tool: 'get_weather', arguments: { city: 'Lyon' } }]);
    const audit = await carol.client.api.listAppCalls({ params: { conversationId: group } });
    expect(audit.calls).toEqual([result]);
  });

  it('[AP9] a write call waits for the asker; another member is refused; the asker approves once', async () => {
    await using server = await startTestServer();
    await using app = await startFixtureApp();
    const { bob, carol, group, call } = await enabledWorld(server, app);
    const carolStream = await server.connect(carol.client);
    const pending = await call('delete_note', { id: 'n1' });
    expect(pending).toMatchObject({ status: 'pending', askedBy: bob.user.id, arguments: { id: 'n1' }, readOnly: false, approval: null, result: null });
    expect(app.calls).toEqual([]);
    await carolStream.until((events) => events.some((event) => event.type === 'app-call-created' && event.call.id === pending.id));

    for (const client of [carol.client, server.assistant.client]) {
      const refused = await failure(client.api.decideAppCall({ params: { conversationId: group, callId: pending.id }, body: { decision: 'approve-once' } }));
      expect(refused).toMatchObject({ code: 'FORBIDDEN', status: 403 });
    }
    expect(app.calls).toEqual([]);
    expect((await carol.client.api.getAppCall({ params: { conversationId: group, callId: pending.id } })).status).toBe('pending');

    const done = await bob.client.api.decideAppCall({ params: { conversationId: group, callId: pending.id }, body: { decision: 'approve-once' } });
    expect(done).toMatchObject({ status: 'completed', approval: 'once', decidedBy: bob.user.id });
    expect(app.calls).toEqual([{ tool: 'delete_note', arguments: { id: 'n1' } }]);
    await carolStream.until((events) => events.some((event) => event.type === 'app-call-updated' && event.call.status === 'completed'));
    // Once means once: the next call asks again.
    expect((await call('delete_note', { id: 'n2' })).status).toBe('pending');
    const twice = await failure(bob.client.api.decideAppCall({ params: { conversationId: group, callId: pending.id }, body: { decision: 'deny' } }));
    expect(twice.code).toBe('CONFLICT');
  });

  it('[AP9] a call of an answer that was stopped can still be denied', async () => {
    await using server = await startTestServer();
    await using app = await startFixtureApp();
    const { bob, group, call, turn } = await enabledWorld(server, app);
    const pending = await call('delete_note', { id: 'n1' });
    await bob.client.api.stopTurn({ params: { conversationId: group, turnId: turn.id } });
    expect((await bob.client.api.decideAppCall({ params: { conversationId: group, callId: pending.id }, body: { decision: 'deny' } })).status).toBe('denied');
    expect(app.calls).toEqual([]);
  });

  it('[AP11] approving a call after its answer ended (stopped or timed out) expires it: recorded for the group, nothing runs, a clear error', async () => {
    await using server = await startTestServer();
    await using app = await startFixtureApp();
    const { bob, carol, group, call, turn } = await enabledWorld(server, app);
    const carolStream = await server.connect(carol.client);
    const pending = await call('delete_note', { id: 'n1' });
    await bob.client.api.stopTurn({ params: { conversationId: group, turnId: turn.id } });
    const refused = await failure(bob.client.api.decideAppCall({ params: { conversationId: group, callId: pending.id }, body: { decision: 'approve-once' } }));
    expect(refused).toMatchObject({ code: 'CONFLICT', status: 409, field: 'params.callId' });
    expect(refused.message).toContain('expired');
    expect(app.calls).toEqual([]);
    const recorded = await carol.client.api.getAppCall({ params: { conversationId: group, callId: pending.id } });
    expect(recorded).toMatchObject({ status: 'failed', decidedBy: bob.user.id, result: null });
    expect(recorded.error).toMatch(/^expired:/);
    expect(recorded.endedAt).not.toBeNull();
    await carolStream.until((events) => events.some((event) => event.type === 'app-call-updated' && event.call.id === pending.id && event.call.status === 'failed'));
    // Decided once: neither a second approval nor a denial changes it.
    expect(await failure(bob.client.api.decideAppCall({ params: { conversationId: group, callId: pending.id }, body: { decision: 'deny' } }))).toMatchObject({ code: 'CONFLICT' });
    expect(app.calls).toEqual([]);
  });

  it('[AP9] a denial runs nothing and is what the assistant reads back', async () => {
    await using server = await startTestServer();
    await using app = await startFixtureApp();
    const { bob, group, call } = await enabledWorld(server, app);
    const pending = await call('delete_note', { id: 'n1' });
    const denied = await bob.client.api.decideAppCall({ params: { conversationId: group, callId: pending.id }, body: { decision: 'deny' } });
    expect(denied).toMatchObject({ status: 'denied', decidedBy: bob.user.id, result: null });
    expect(await server.assistant.client.api.getAppCall({ params: { conversationId: group, callId: pending.id } })).toEqual(denied);
    expect(app.calls).toEqual([]);
  });

  it('[AP9] approving for the conversation lets later calls of that tool by that asker run at once', async () => {
    await using server = await startTestServer();
    await using app = await startFixtureApp();
    const { bob, group, call } = await enabledWorld(server, app);
    const first = await call('delete_note', { id: 'n1' });
    await bob.client.api.decideAppCall({ params: { conversationId: group, callId: first.id }, body: { decision: 'approve-conversation' } });
    const second = await call('delete_note', { id: 'n2' });
    expect(second).toMatchObject({ status: 'completed', approval: 'conversation', decidedBy: bob.user.id });
    expect(app.calls.map((item) => item.arguments)).toEqual([{ id: 'n1' }, { id: 'n2' }]);
  });

  it('[AP8] refuses app-only tools to the assistant, unknown tools, bad arguments and apps not switched on', async () => {
    await using server = await startTestServer();
    await using app = await startFixtureApp();
    const { bob, group, call, app: approved } = await enabledWorld(server, app);
    expect(await failure(call('refresh_card', {}))).toMatchObject({ code: 'FORBIDDEN', field: 'body.tool' });
    expect(await failure(call('no_such_tool', {}))).toMatchObject({ code: 'INVALID_INPUT', field: 'body.tool' });
    expect(
      await failure(
        server.assistant.client.api.callAppTool({
          params: { conversationId: group, appId: approved.id },
          body: { id: messageId(), tool: 'get_weather', arguments: '[1,2]' },
        }),
      ),
    ).toMatchObject({ code: 'INVALID_INPUT' });
    // A member (a widget) may call the app-only tool, as the one who asks.
    const widget = await bob.client.api.callAppTool({ params: { conversationId: group, appId: approved.id }, body: { id: messageId(), tool: 'refresh_card' } });
    expect(widget).toMatchObject({ status: 'completed', askedBy: bob.user.id, requestedBy: bob.user.id });
    await bob.client.api.setConversationApp({ params: { conversationId: group, appId: approved.id }, body: { enabled: false } });
    expect(await failure(call('get_weather', { city: 'Oslo' }))).toMatchObject({ code: 'FORBIDDEN', field: 'params.appId' });
    expect(app.calls.map((item) => item.tool)).toEqual(['refresh_card']);
  });

  it('a retry with the same id returns the same call and runs nothing twice', async () => {
    await using server = await startTestServer();
    await using app = await startFixtureApp();
    const { call } = await enabledWorld(server, app);
    const id = messageId();
    const first = await call('get_weather', { city: 'Nice' }, id);
    const again = await call('get_weather', { city: 'Nice' }, id);
    expect(again).toEqual(first);
    expect(app.calls).toHaveLength(1);
  });
});

describe('running calls', () => {
  async function runningWorld(server: TestServer, app: FixtureApp) {
    const world = await approvedWorld(server, app);
    await world.bob.client.api.setConversationApp({ params: { conversationId: world.group, appId: world.app.id }, body: { enabled: true } });
    const turn = await turnFor(server, world.bob, world.group);
    const call = (tool: string, args: Record<string, unknown>) =>
      server.assistant.client.api.callAppTool({
        params: { conversationId: world.group, appId: world.app.id },
        body: { id: messageId(), tool, arguments: JSON.stringify(args), turnId: turn.id },
      });
    return { ...world, turn, call };
  }

  async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it('[AP10] a result over 1 MiB is not kept: the call fails saying so, with its size; one under it is kept whole', async () => {
    await using server = await startTestServer();
    await using app = await startFixtureApp();
    const { carol, group, call } = await runningWorld(server, app);
    const kept = await call('long_report', { kib: 900 });
    expect(kept).toMatchObject({ status: 'completed', error: null });
    expect(kept.resultBytes).toBeGreaterThan(900 * 1024);
    expect(JSON.stringify(kept.result)).toContain('r'.repeat(900 * 1024));
    const dropped = await call('long_report', { kib: 1100 });
    expect(dropped).toMatchObject({ status: 'failed', result: null, error: 'the result was larger than 1048576 bytes' });
    expect(dropped.resultBytes).toBeGreaterThan(1100 * 1024);
    // Every member reads the same record, and the log carries no result of that size.
    expect(await carol.client.api.getAppCall({ params: { conversationId: group, callId: dropped.id } })).toEqual(dropped);
    const { events } = await carol.client.api.listEvents({ params: { conversationId: group } });
    expect(events.filter((event) => event.type === 'app-call-updated' && event.call.id === dropped.id).every((event) => event.type === 'app-call-updated' && event.call.result === null)).toBe(true);
  });

  it('[AP12] the progress an app reports reaches every member as app-call-updated events, throttled, and the ended call keeps the last', async () => {
    await using server = await startTestServer({ config: { appProgressIntervalMs: 100 } });
    await using app = await startFixtureApp();
    const { carol, group, call } = await runningWorld(server, app);
    const carolStream = await server.connect(carol.client);
    const started = performance.now();
    // 200 reports in about 600 ms: a chatty app.
    const done = await call('count_slowly', { steps: 200, delayMs: 3 });
    const elapsed = performance.now() - started;
    expect(done).toMatchObject({ status: 'completed', progress: { progress: 200, total: 200, message: 'step 200 of 200' } });
    await carolStream.until((events) => events.some((event) => event.type === 'app-call-updated' && event.call.id === done.id && event.call.status === 'completed'));
    const updates = carolStream.events.flatMap((event) => (event.type === 'app-call-updated' && event.call.id === done.id ? [event.call] : []));
    const running = updates.filter((item) => item.status === 'running');
    expect(running.length).toBeGreaterThanOrEqual(2);
    // At most one progress event per 100 ms (and the first at once), never one per report.
    expect(running.length).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 1);
    const seen = running.map((item) => item.progress!.progress);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(running[0]!.progress).toMatchObject({ total: 200, message: expect.stringMatching(/^step \d+ of 200$/) });
    expect(updates.at(-1)).toEqual(done);
    expect((await carol.client.api.getAppCall({ params: { conversationId: group, callId: done.id } })).progress).toEqual(done.progress);
  });

  it("[AP13] a member's Stop of the answer cancels its running tool call: the app is told, the call fails 'cancelled:' for the group", async () => {
    await using server = await startTestServer();
    await using app = await startFixtureApp();
    const { bob, carol, group, call, turn } = await runningWorld(server, app);
    const carolStream = await server.connect(carol.client);
    const started = performance.now();
    const running = call('slow_search', { query: 'flights', seconds: 60 });
    await until(() => app.calls.some((item) => item.tool === 'slow_search'), 'the app to receive the call');
    await bob.client.api.stopTurn({ params: { conversationId: group, turnId: turn.id } });
    const ended = await running;
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(ended).toMatchObject({ status: 'failed', result: null, tool: 'slow_search' });
    expect(ended.error).toMatch(/^cancelled:/);
    await until(() => app.cancelled.length === 1, 'the app to see the cancellation');
    expect(app.cancelled).toEqual(['flights']);
    await carolStream.until((events) => events.some((event) => event.type === 'app-call-updated' && event.call.id === ended.id && event.call.status === 'failed'));
    const update = carolStream.events.flatMap((event) => (event.type === 'app-call-updated' && event.call.id === ended.id && event.call.status === 'failed' ? [event] : []));
    // The member who stopped the answer is who ended the call.
    expect(update.map((event) => event.actorId)).toEqual([bob.user.id]);
    expect(await carol.client.api.getAppCall({ params: { conversationId: group, callId: ended.id } })).toEqual(ended);
  });

  it("[AP13] a Stop cancels only that answer's running calls: a finished call and a member's own call are left as they are", async () => {
    await using server = await startTestServer();
    await using app = await startFixtureApp();
    const { bob, group, call, turn } = await runningWorld(server, app);
    const done = await call('get_weather', { city: 'Lyon' });
    await bob.client.api.stopTurn({ params: { conversationId: group, turnId: turn.id } });
    expect(await bob.client.api.getAppCall({ params: { conversationId: group, callId: done.id } })).toEqual(done);
    // A member's own (widget) call belongs to no answer: a Stop elsewhere leaves it running to its end.
    const widget = bob.client.api.callAppTool({
      params: { conversationId: group, appId: (await bob.client.api.listApps()).apps[0]!.id },
      body: { id: messageId(), tool: 'count_slowly', arguments: JSON.stringify({ steps: 3, delayMs: 100 }) },
    });
    const next = await turnFor(server, bob, group);
    await bob.client.api.stopTurn({ params: { conversationId: group, turnId: next.id } });
    expect((await widget).status).toBe('completed');
    expect(app.cancelled).toEqual([]);
  });

  it('[AP14] an app that says its tools changed is listed again at once: a new hash sends it back to review, with no refresh or reconnection', async () => {
    await using server = await startTestServer();
    await using app = await startFixtureApp();
    const { ann, bob, group, call, app: approved } = await runningWorld(server, app);
    // The first call connects (and subscribes to the app's changes).
    expect((await call('get_weather', { city: 'Oslo' })).status).toBe('completed');
    app.changeTools(true);
    const deadline = Date.now() + 10_000;
    let current = await ann.client.api.getAdminApp({ params: { appId: approved.id } });
    while (current.status !== 'review') {
      if (Date.now() > deadline) throw new Error('the app did not go back to review');
      await new Promise((resolve) => setTimeout(resolve, 20));
      current = await ann.client.api.getAdminApp({ params: { appId: approved.id } });
    }
    expect(current.listing!.hash).not.toBe(approved.approvedHash);
    expect(current.listing!.tools.map((tool) => tool.name)).toContain('export_everything');
    expect((await bob.client.api.listApps()).apps).toEqual([]);
    expect(await failure(call('get_weather', { city: 'Oslo' }))).toMatchObject({ code: 'FORBIDDEN', field: 'params.appId' });
    expect(app.calls.map((item) => item.tool)).toEqual(['get_weather']);
    void group;
  });

  it('[AP15] a shutdown cancels a running call and records it interrupted; after the restart the group sees why', async () => {
    await using server = await startTestServer();
    await using app = await startFixtureApp();
    const { carol, group, call } = await runningWorld(server, app);
    const running = call('slow_search', { query: 'hotels', seconds: 60 });
    await until(() => app.calls.some((item) => item.tool === 'slow_search'), 'the app to receive the call');
    const started = performance.now();
    await server.restart();
    expect(performance.now() - started).toBeLessThan(20_000);
    const ended = await running;
    expect(ended).toMatchObject({ status: 'failed', tool: 'slow_search' });
    expect(ended.error).toMatch(/^interrupted:/);
    await until(() => app.cancelled.length === 1, 'the app to see the cancellation');
    const listed = await carol.client.api.listAppCalls({ params: { conversationId: group } });
    expect(listed.calls.find((item) => item.id === ended.id)).toEqual(ended);
    const events = await carol.client.api.listEvents({ params: { conversationId: group } });
    expect(events.events.filter((event) => event.type === 'app-call-updated' && event.call.id === ended.id).at(-1)).toMatchObject({ call: ended });
  });
});
