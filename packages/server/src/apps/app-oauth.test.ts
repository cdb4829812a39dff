import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startFixtureAuthServer, startOAuthFixtureApp, type FixtureAuthServer, type OAuthFixtureApp } from '@parley/apps/test';
import type { AppCall } from '@parley/protocol';
import type { ParleyClient } from '@parley/sdk';
import { describe, expect, it } from 'vitest';
import { say } from '../test/assistant.js';
import { failure, messageId, startTestServer, type TestServer, type TestUser } from '../test/harness.js';
import { FLOW_TTL_MS } from './authorization.js';

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

/** What a browser's navigation sends. */
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

/** The browser lands on the callback with this query (and the member's credentials, unless `token` is null). */
async function land(server: TestServer, query: Record<string, string>, headers: Record<string, string>, token: string | null): Promise<Response> {
  const url = new URL('/api/app-authorization/callback', server.url);
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  return fetch(url, { headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) }, redirect: 'manual' });
}

/** The refusal page [AP24]: its status, language and reason, under a policy that lets only its own style apply. */
async function expectPage(response: Response, status: number, language: 'en' | 'fr', reason: string): Promise<string> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(response.headers.get('content-language')).toBe(language);
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  const html = await response.text();
  expect(html).toContain(`<html lang="${language}">`);
  expect(html).toContain(`data-reason="${reason}"`);
  expect(html).toContain('<a href="/">');
  expect(html).not.toMatch(/<script|\son[a-z]+=|javascript:/i);
  const policy = response.headers.get('content-security-policy') ?? '';
  const directives = policy.split(';').map((directive) => directive.trim());
  expect(directives).toContain("default-src 'none'");
  expect(directives).toContain("frame-ancestors 'none'");
  expect(policy).not.toMatch(/script-src|unsafe-inline|unsafe-eval/);
  // The one style the policy allows is the page's own, by its hash.
  const style = /<style>([^<]*)<\/style>/.exec(html)?.[1] ?? '';
  expect(directives).toContain(`style-src 'sha256-${crypto.createHash('sha256').update(style).digest('base64')}'`);
  return html;
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

  it('[AP24] a refused callback shows the browser a page saying why, in English or French, with the way back; JSON to a caller that asks for it', async () => {
    await using server = await startTestServer();
    await using authServer = await startFixtureAuthServer();
    await using app = await startOAuthFixtureApp(authServer);
    const { bob, carol, appId } = await oauthWorld(server, authServer, app);
    const token = bob.client.token!;

    // The member says no at the authorisation server: a page in French for a French browser.
    const denied = await bob.client.api.startAppAuthorization({ params: { appId }, body: {} });
    const deniedState = new URL(denied.authorizationUrl!).searchParams.get('state')!;
    const page = await expectPage(await land(server, { state: deniedState, error: 'access_denied' }, { accept: BROWSER_ACCEPT, 'accept-language': 'fr-FR,fr;q=0.9,en;q=0.5' }, token), 409, 'fr', 'denied');
    expect(page).toContain('Vous avez refusé');
    expect(page).toContain('Retour à Parley');

    // Another error of the authorisation server is named by its code, never by its free text.
    const refused = await bob.client.api.startAppAuthorization({ params: { appId }, body: {} });
    const refusedState = new URL(refused.authorizationUrl!).searchParams.get('state')!;
    const other = await expectPage(
      await land(server, { state: refusedState, error: 'temporarily_unavailable', error_description: 'Call +1 555 0100 to unlock' }, { accept: BROWSER_ACCEPT, 'accept-language': 'en-GB' }, token),
      409,
      'en',
      'refused',
    );
    expect(other).toContain('temporarily_unavailable');
    expect(other).not.toContain('555');

    // A state that is not (or no longer) under way; English when the browser names neither language.
    const unknown = await expectPage(await land(server, { state: deniedState, code: 'x' }, { accept: BROWSER_ACCEPT, 'accept-language': 'de-DE,de;q=0.9' }, token), 404, 'en', 'unknown');
    expect(unknown).toContain('Back to Parley');
    // A bare fetch, which names no type, gets the page too; so does a browser that is not signed in.
    await expectPage(await land(server, { state: 'not-a-state' }, {}, token), 404, 'en', 'unknown');
    await expectPage(await land(server, { state: 'not-a-state' }, { accept: BROWSER_ACCEPT }, null), 401, 'en', 'signed-out');
    await expectPage(await land(server, { state: '' }, { accept: BROWSER_ACCEPT }, token), 400, 'en', 'malformed');

    // Someone else's authorisation, an issuer that fails the check, a code the server will not redeem.
    const { query } = await authorise(authServer, bob, appId);
    await expectPage(await land(server, query, { accept: BROWSER_ACCEPT, 'accept-language': 'fr' }, carol.client.token!), 403, 'fr', 'other-session');
    const before = authServer.tokenRequests.length;
    await expectPage(await land(server, { ...query, iss: 'http://127.0.0.1:9/another' }, { accept: BROWSER_ACCEPT }, token), 403, 'en', 'issuer');
    expect(authServer.tokenRequests.length).toBe(before);
    const late = await authorise(authServer, bob, appId);
    authServer.expireCodes();
    await expectPage(await land(server, late.query, { accept: BROWSER_ACCEPT }, token), 409, 'en', 'code');
    expect(await server.server.context.appOAuth.hasTokens(appId, bob.user.id)).toBe(false);

    // A caller that asks for JSON (as the SDK does) gets the one error shape, with the same status.
    const json = await land(server, { state: 'not-a-state' }, { accept: 'application/json' }, token);
    expect(json.status).toBe(404);
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await json.json()).toMatchObject({ error: { code: 'NOT_FOUND', field: 'query.state' } });
    const weighed = await land(server, { state: 'not-a-state' }, { accept: 'text/html;q=0.5, application/json' }, null);
    expect(weighed.status).toBe(401);
    expect(await weighed.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    expect((await land(server, { state: 'not-a-state' }, { accept: 'text/html, application/json;q=0.9' }, token)).headers.get('content-type')).toMatch(/^text\/html/);

    // And success is still the 303 back to Parley.
    const done = await authorise(authServer, bob, appId);
    const back = await land(server, done.query, { accept: BROWSER_ACCEPT }, token);
    expect(back.status).toBe(303);
    expect(back.headers.get('location')).toBe('/');
  });

  it('[AP25] [AP24] an authorisation left unfinished past ten minutes is refused with the page, and the sweep deletes those left', async () => {
    let offsetMs = 0;
    await using server = await startTestServer({ clock: { now: () => new Date(Date.now() + offsetMs) } });
    await using authServer = await startFixtureAuthServer();
    await using app = await startOAuthFixtureApp(authServer);
    const { bob, carol, appId } = await oauthWorld(server, authServer, app);
    const dave = await server.user();
    const { reader } = server.server.context.storage;
    const flows = async () => (await reader.selectFrom('app_oauth_flows').select('user_id').execute()).map((row) => row.user_id).sort();

    // Bob comes back from the authorisation server too late; carol never comes back.
    const { query } = await authorise(authServer, bob, appId);
    expect((await carol.client.api.startAppAuthorization({ params: { appId }, body: {} })).authorizationUrl).not.toBeNull();
    offsetMs = FLOW_TTL_MS + 60_000;
    // Dave starts his now: it has its ten minutes ahead.
    expect((await dave.client.api.startAppAuthorization({ params: { appId }, body: {} })).authorizationUrl).not.toBeNull();
    expect(await flows()).toEqual([bob.user.id, carol.user.id, dave.user.id].sort());

    const page = await expectPage(await land(server, query, { accept: BROWSER_ACCEPT }, bob.client.token!), 409, 'en', 'expired');
    expect(page).toContain('10 minutes');
    expect(await server.server.context.appOAuth.hasTokens(appId, bob.user.id)).toBe(false);
    // Used once: bob's is gone; carol's stays until the sweep.
    expect(await flows()).toEqual([carol.user.id, dave.user.id].sort());

    // A sweep the timer began before the clock moved may be the one a first call joins.
    await server.server.context.appRuns.sweep();
    await server.server.context.appRuns.sweep();
    expect(await flows()).toEqual([dave.user.id]);
  });
});
