import fs from 'node:fs';
import path from 'node:path';
import { startFixtureAuthServer, startOAuthFixtureApp, type FixtureAuthServer, type OAuthFixtureApp } from '@parley/apps/test';
import type { AppCall } from '@parley/protocol';
import type { ParleyClient } from '@parley/sdk';
import { describe, expect, it } from 'vitest';
import { say } from '../test/assistant.js';
import { failure, messageId, startTestServer, type TestServer, type TestUser } from '../test/harness.js';

/** The query the authorisation server sent the browser back with, as the callback route takes it. */
function callbackQuery(location: URL) {
  return Object.fromEntries(location.searchParams.entries()) as { state: string; code?: string; iss?: string };
}

/** A member authorises the app: Parley's authorisation URL, the fixture server's sign-in, and the callback. */
async function authorise(authServer: FixtureAuthServer, member: TestUser, appId: string, user = member.user.username, returnTo?: string) {
  const { authorizationUrl } = await member.client.api.startAppAuthorization({ params: { appId }, body: returnTo ? { returnTo } : {} });
  expect(authorizationUrl).not.toBeNull();
  const back = await authServer.approve(authorizationUrl!, user);
  return { authorizationUrl: new URL(authorizationUrl!), back, query: callbackQuery(back) };
}

async function untilCall(client: ParleyClient, conversationId: string, callId: string, check: (call: AppCall) => boolean): Promise<AppCall> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const call = await client.api.getAppCall({ params: { conversationId, callId } });
    if (check(call)) return call;
    if (Date.now() > deadline) throw new Error(`call ${callId} is still ${call.status}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * An administrator (ann) adds the OAuth app, authorises it to list it, approves it; a group of
 * ann, bob and carol has it on.
 */
async function oauthWorld(server: TestServer, authServer: FixtureAuthServer, app: OAuthFixtureApp) {
  const ann = await server.user();
  const bob = await server.user();
  const carol = await server.user();
  const added = await ann.client.api.createApp({ body: { name: 'Weather', url: app.url } });
  expect(added).toMatchObject({ oauth: true, listing: null, status: 'review' });
  expect(added.error).toMatch(/^authorization:/);
  const { query } = await authorise(authServer, ann, added.id);
  await ann.client.api.appAuthorizationCallback({ query });
  const listed = await ann.client.api.getAdminApp({ params: { appId: added.id } });
  expect(listed).toMatchObject({ oauth: true, error: null });
  expect(listed.listing?.tools.map((tool) => tool.name)).toContain('get_weather');
  await ann.client.api.reviewApp({ params: { appId: added.id }, body: { decision: 'approve', hash: listed.listing!.hash } });
  const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Trip', usernames: [bob.user.username, carol.user.username] } })).conversation.id;
  await bob.client.api.setConversationApp({ params: { conversationId: group, appId: added.id }, body: { enabled: true } });
  return { ann, bob, carol, appId: added.id, group };
}

async function weather(member: TestUser, group: string, appId: string, city: string): Promise<AppCall> {
  return member.client.api.callAppTool({ params: { conversationId: group, appId }, body: { id: messageId(), tool: 'get_weather', arguments: JSON.stringify({ city }) } });
}

describe('apps with OAuth', () => {
  it('[AP16] [AP18] a call waits for the asker to authorise the app, then runs with their own token; each member calls with theirs', async () => {
    await using server = await startTestServer();
    await using authServer = await startFixtureAuthServer();
    await using app = await startOAuthFixtureApp(authServer);
    const { ann, bob, carol, appId, group } = await oauthWorld(server, authServer, app);
    expect((await bob.client.api.listApps()).apps[0]).toMatchObject({ id: appId, oauth: true });

    const carolStream = await server.connect(carol.client);
    const waiting = await weather(bob, group, appId, 'Lyon');
    expect(waiting).toMatchObject({ status: 'authorization', askedBy: bob.user.id });
    await carolStream.until((events) => events.some((event) => event.type === 'app-call-created' && event.call.id === waiting.id && event.call.status === 'authorization'));
    expect(app.calls).toEqual([]);

    const returnTo = `/conversations/${group}`;
    const { authorizationUrl, back } = await authorise(authServer, bob, appId, bob.user.username, returnTo);
    // PKCE S256, the app as the RFC 8707 resource, Parley's callback as the redirect URI.
    expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizationUrl.searchParams.get('resource')).toBe(app.url);
    expect(authorizationUrl.searchParams.get('redirect_uri')).toBe(`${server.url}/api/app-authorization/callback`);
    expect(back.origin + back.pathname).toBe(`${server.url}/api/app-authorization/callback`);

    // The browser comes back: a 303 to where it started.
    const response = await fetch(back, { headers: { authorization: `Bearer ${bob.client.token}` }, redirect: 'manual' });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(returnTo);

    const ran = await untilCall(bob.client, group, waiting.id, (call) => call.status === 'completed');
    expect(ran.result).toMatchObject({ structuredContent: { city: 'Lyon', temperature: 21 } });
    expect(app.calls).toEqual([{ tool: 'get_weather', arguments: { city: 'Lyon' }, user: bob.user.username }]);
    await carolStream.until((events) => events.some((event) => event.type === 'app-call-updated' && event.call.id === waiting.id && event.call.status === 'completed'));

    // From now on bob's calls run at once, with his token; ann's with hers; carol still has none.
    expect(await weather(bob, group, appId, 'Brest')).toMatchObject({ status: 'completed' });
    expect(await weather(ann, group, appId, 'Caen')).toMatchObject({ status: 'completed' });
    expect(await weather(carol, group, appId, 'Metz')).toMatchObject({ status: 'authorization', askedBy: carol.user.id });
    expect(app.calls.slice(1).map((call) => `${call.arguments.city} ${call.user}`)).toEqual([`Brest ${bob.user.username}`, `Caen ${ann.user.username}`]);
    carolStream.close();
  });

  it('[AP16] tokens are sealed in the database with the installation key (a 0600 file by default)', async () => {
    await using server = await startTestServer();
    await using authServer = await startFixtureAuthServer();
    await using app = await startOAuthFixtureApp(authServer);
    const { bob, appId } = await oauthWorld(server, authServer, app);
    const { query } = await authorise(authServer, bob, appId);
    await bob.client.api.appAuthorizationCallback({ query });
    const rows = await server.server.context.storage.reader.selectFrom('app_oauth_tokens').selectAll().where('user_id', '=', bob.user.id).execute();
    expect(rows).toEqual([expect.objectContaining({ app_id: appId, issuer: authServer.issuer, resource: app.url })]);
    expect(rows[0]!.sealed).toMatch(/^v1\./);
    expect(rows[0]!.sealed).not.toContain('access_token');
    const key = fs.statSync(path.join(server.dataDir, 'secret-key'));
    expect(key.mode & 0o777).toBe(0o600);
  });

  it('[AP17] the callback refuses an unknown state, another member, a state used twice, and an expired code', async () => {
    await using server = await startTestServer();
    await using authServer = await startFixtureAuthServer();
    await using app = await startOAuthFixtureApp(authServer);
    const { bob, carol, appId, group } = await oauthWorld(server, authServer, app);
    const waiting = await weather(bob, group, appId, 'Lyon');

    expect(await failure(bob.client.api.appAuthorizationCallback({ query: { state: 'not-a-state', code: 'x' } }))).toMatchObject({ code: 'NOT_FOUND', field: 'query.state' });
    expect(await failure(bob.client.api.appAuthorizationCallback({ query: { state: '' } }))).toMatchObject({ code: 'INVALID_INPUT', field: 'query.state' });

    const { query } = await authorise(authServer, bob, appId);
    // Carol holds bob's callback address: it is not hers, and bob's authorisation stays his to finish.
    expect(await failure(carol.client.api.appAuthorizationCallback({ query }))).toMatchObject({ code: 'FORBIDDEN', field: 'query.state' });
    // Nor is another session of bob's the one that started it.
    const { client: otherSession } = await (await import('@parley/sdk')).ParleyClient.signIn(server.url, { username: bob.user.username, password: 'correct horse battery staple' });
    expect(await failure(otherSession.api.appAuthorizationCallback({ query }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await server.server.context.appOAuth.hasTokens(appId, carol.user.id)).toBe(false);

    await bob.client.api.appAuthorizationCallback({ query });
    await untilCall(bob.client, group, waiting.id, (call) => call.status === 'completed');
    expect(await failure(bob.client.api.appAuthorizationCallback({ query }))).toMatchObject({ code: 'NOT_FOUND', field: 'query.state' });

    // An authorisation code that expired before the browser came back is refused by the authorisation server.
    await bob.client.api.deleteAppAuthorization({ params: { appId } });
    const late = await authorise(authServer, bob, appId);
    authServer.expireCodes();
    expect(await failure(bob.client.api.appAuthorizationCallback({ query: late.query }))).toMatchObject({ code: 'CONFLICT', field: 'query.code' });
    expect(await server.server.context.appOAuth.hasTokens(appId, bob.user.id)).toBe(false);

    // The authorisation server's own refusal (the member said no) is reported, and nothing is stored.
    const refused = await bob.client.api.startAppAuthorization({ params: { appId }, body: {} });
    const state = new URL(refused.authorizationUrl!).searchParams.get('state')!;
    expect(await failure(bob.client.api.appAuthorizationCallback({ query: { state, error: 'access_denied' } }))).toMatchObject({ code: 'CONFLICT', field: 'query.error' });
  });

  it('[AP16] an expired access token is refreshed on its own; one that cannot be refreshed sends the call back to authorisation', async () => {
    await using server = await startTestServer();
    await using authServer = await startFixtureAuthServer();
    await using app = await startOAuthFixtureApp(authServer);
    const { bob, appId, group } = await oauthWorld(server, authServer, app);
    const { query } = await authorise(authServer, bob, appId);
    await bob.client.api.appAuthorizationCallback({ query });
    expect(await weather(bob, group, appId, 'Lyon')).toMatchObject({ status: 'completed' });

    authServer.expireAccessTokens();
    expect(await weather(bob, group, appId, 'Nice')).toMatchObject({ status: 'completed' });
    expect(authServer.tokenRequests.filter((request) => request.grantType === 'refresh_token').map((request) => request.status)).toContain(200);
    expect(app.calls.at(-1)).toMatchObject({ arguments: { city: 'Nice' }, user: bob.user.username });

    authServer.expireAccessTokens();
    authServer.revokeRefreshTokens();
    const again = await weather(bob, group, appId, 'Pau');
    expect(again.status).toBe('authorization');
    const { query: second } = await authorise(authServer, bob, appId);
    await bob.client.api.appAuthorizationCallback({ query: second });
    expect(await untilCall(bob.client, group, again.id, (call) => call.status === 'completed')).toMatchObject({ status: 'completed' });
  });

  it('[AP17] a callback whose issuer is not the authorisation server Parley asked is refused, and no token is kept', async () => {
    await using server = await startTestServer();
    await using authServer = await startFixtureAuthServer();
    await using app = await startOAuthFixtureApp(authServer);
    const { bob, appId } = await oauthWorld(server, authServer, app);
    const { query } = await authorise(authServer, bob, appId);
    const before = authServer.tokenRequests.length;
    const error = await failure(bob.client.api.appAuthorizationCallback({ query: { ...query, iss: 'http://127.0.0.1:9/another' } }));
    expect(error).toMatchObject({ code: 'FORBIDDEN', field: 'query.iss' });
    expect(authServer.tokenRequests.length).toBe(before);
    expect(await server.server.context.appOAuth.hasTokens(appId, bob.user.id)).toBe(false);
  });

  it('[AP17] an app whose authorisation server publishes another issuer in its metadata cannot be authorised', async () => {
    await using server = await startTestServer();
    await using authServer = await startFixtureAuthServer({ issuer: 'http://127.0.0.1:9/elsewhere' });
    await using app = await startOAuthFixtureApp(authServer);
    const ann = await server.user();
    const added = await ann.client.api.createApp({ body: { name: 'Weather', url: app.url } });
    expect(added.oauth).toBe(true);
    const error = await failure(ann.client.api.startAppAuthorization({ params: { appId: added.id }, body: {} }));
    expect(error).toMatchObject({ code: 'FORBIDDEN', field: 'params.appId' });
    expect(authServer.clients.size).toBe(0);
  });

  it('[AP17] members may authorise only offered apps that use OAuth; returnTo must be a path of this site', async () => {
    await using server = await startTestServer();
    await using authServer = await startFixtureAuthServer();
    await using app = await startOAuthFixtureApp(authServer);
    const ann = await server.user();
    const bob = await server.user();
    const added = await ann.client.api.createApp({ body: { name: 'Weather', url: app.url } });
    expect(await failure(bob.client.api.startAppAuthorization({ params: { appId: added.id }, body: {} }))).toMatchObject({ code: 'NOT_FOUND', field: 'params.appId' });
    const bad = await failure(ann.client.api.startAppAuthorization({ params: { appId: added.id }, body: { returnTo: '//evil.example/x' } }));
    expect(bad).toMatchObject({ code: 'INVALID_INPUT', field: 'body.returnTo' });
  });

  it('[AP18] an assistant call waits for the asker; when the answer is stopped the call expires, and authorising later runs nothing', async () => {
    await using server = await startTestServer();
    await using authServer = await startFixtureAuthServer();
    await using app = await startOAuthFixtureApp(authServer);
    const { bob, appId, group } = await oauthWorld(server, authServer, app);
    const trigger = await say(bob.client, group, '@assistant weather in Lyon?');
    const turn = await server.assistant.client.api.startTurn({ params: { conversationId: group }, body: { id: messageId(), triggerMessageId: trigger.id } });
    const call = await server.assistant.client.api.callAppTool({
      params: { conversationId: group, appId },
      body: { id: messageId(), tool: 'get_weather', arguments: JSON.stringify({ city: 'Lyon' }), turnId: turn.id },
    });
    expect(call).toMatchObject({ status: 'authorization', askedBy: bob.user.id, requestedBy: server.assistant.userId });
    await bob.client.api.stopTurn({ params: { conversationId: group, turnId: turn.id } });
    // The answer it belonged to is gone: the call expires at once, by the member who stopped it.
    const expired = await untilCall(bob.client, group, call.id, (current) => current.status !== 'authorization');
    expect(expired).toMatchObject({ status: 'failed' });
    expect(expired.error).toMatch(/^expired:/);
    // Authorising afterwards runs nothing.
    const { query } = await authorise(authServer, bob, appId);
    await bob.client.api.appAuthorizationCallback({ query });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await bob.client.api.getAppCall({ params: { conversationId: group, callId: call.id } })).status).toBe('failed');
    expect(app.calls).toEqual([]);
  });

  it('[AP19] disconnect forgets the member\'s tokens: their next call waits for a new authorisation', async () => {
    await using server = await startTestServer();
    await using authServer = await startFixtureAuthServer();
    await using app = await startOAuthFixtureApp(authServer);
    const { bob, appId, group } = await oauthWorld(server, authServer, app);
    const { query } = await authorise(authServer, bob, appId);
    await bob.client.api.appAuthorizationCallback({ query });
    expect(await weather(bob, group, appId, 'Lyon')).toMatchObject({ status: 'completed' });
    expect((await bob.client.api.listApps()).apps[0]).toMatchObject({ oauth: true, connected: true });
    expect((await bob.client.api.listConversationApps({ params: { conversationId: group } })).apps[0]).toMatchObject({ connected: true });
    await bob.client.api.deleteAppAuthorization({ params: { appId } });
    expect(await server.server.context.appOAuth.hasTokens(appId, bob.user.id)).toBe(false);
    expect((await bob.client.api.listApps()).apps[0]).toMatchObject({ oauth: true, connected: false });
    expect(await weather(bob, group, appId, 'Nice')).toMatchObject({ status: 'authorization' });
  });
});
