import crypto from 'node:crypto';
import fs from 'node:fs';
import { type FixtureAuthServer, type OAuthFixtureApp, startFixtureAuthServer, startOAuthFixtureApp } from '@parley/apps/test';
import { ParleyClient } from '@parley/sdk';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { en } from '../src/i18n/en.js';
import { fr } from '../src/i18n/fr.js';
import { allowAxe, CHROMIUM, password, screenshot, seriousViolations, signUp, startWorld, watchProblems, type World } from './browser.js';

const suffix = crypto.randomBytes(3).toString('hex');

/**
 * An app behind OAuth in the browser [WB87]: the fixture authorisation server and app of
 * packages/apps on loopback. Ann (the administrator) adds, authorises and approves it through
 * the API; the assistant (driven through its bot account) calls it for Bea, who has not
 * authorised it: her card says "Connect to Weather", she is sent to the authorisation server's
 * page, signs in there, comes back to the conversation, and the call runs with her token. Cid,
 * another member, reads whom the call waits for.
 */
describe.skipIf(!fs.existsSync(CHROMIUM))('an app behind OAuth in the browser', { timeout: 90_000 }, () => {
  let world: World;
  let authServer: FixtureAuthServer;
  let app: OAuthFixtureApp;
  let bea: BrowserContext;
  let cid: BrowserContext;
  let beaPage: Page;
  let cidPage: Page;
  const problems: string[][] = [];

  beforeAll(async () => {
    world = await startWorld();
    authServer = await startFixtureAuthServer();
    app = await startOAuthFixtureApp(authServer);
    bea = await world.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', colorScheme: 'light' });
    cid = await world.browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'fr-FR', colorScheme: 'dark' });
    for (const context of [bea, cid]) {
      context.setDefaultTimeout(10_000);
      await allowAxe(context, world.url);
    }
    beaPage = await bea.newPage();
    cidPage = await cid.newPage();
    for (const page of [beaPage, cidPage]) problems.push(watchProblems(page));
  }, 120_000);
  afterAll(async () => {
    await world?.close();
    await app?.close();
    await authServer?.close();
  });

  it('[WB87] the asker connects the app from the call card, comes back, and the call runs with their own token', async () => {
    // Ann, the first account, is the administrator: she adds the app, authorises it to list it, approves it.
    const { client: ann } = await ParleyClient.signUp(world.url, { username: `ann_${suffix}`, password, displayName: 'Ann' });
    const added = await ann.api.createApp({ body: { name: 'Weather', url: app.url } });
    expect(added.oauth).toBe(true);
    const start = await ann.api.startAppAuthorization({ params: { appId: added.id }, body: {} });
    const back = await authServer.approve(start.authorizationUrl!, 'ann');
    await ann.api.appAuthorizationCallback({ query: Object.fromEntries(back.searchParams.entries()) as { state: string } });
    const listed = await ann.api.getAdminApp({ params: { appId: added.id } });
    await ann.api.reviewApp({ params: { appId: added.id }, body: { decision: 'approve', hash: listed.listing!.hash } });

    await beaPage.goto(`${world.url}/`);
    await signUp(beaPage, en, `bea_${suffix}`, 'Bea');
    await cidPage.goto(`${world.url}/`);
    await signUp(cidPage, fr, `cid_${suffix}`, 'Cid');
    const group = (await ann.api.createConversation({ body: { kind: 'group', title: 'Trip', usernames: [`bea_${suffix}`, `cid_${suffix}`] } })).conversation.id;
    await ann.api.setConversationApp({ params: { conversationId: group, appId: added.id }, body: { enabled: true } });

    // Bea asks the assistant; it calls the app for her, and the call waits for her authorisation.
    const beaApi = (await ParleyClient.signIn(world.url, { username: `bea_${suffix}`, password })).client;
    const trigger = await beaApi.api.sendMessage({ params: { conversationId: group }, body: { id: crypto.randomUUID(), text: '@assistant the weather in Lyon?' } });
    const bot = new ParleyClient({ baseUrl: world.url, token: world.server.assistant.token });
    const turn = await bot.api.startTurn({ params: { conversationId: group }, body: { id: crypto.randomUUID(), triggerMessageId: trigger.id } });
    const call = await bot.api.callAppTool({
      params: { conversationId: group, appId: added.id },
      body: { id: crypto.randomUUID(), tool: 'get_weather', arguments: JSON.stringify({ city: 'Lyon' }), turnId: turn.id },
    });
    expect(call.status).toBe('authorization');

    await beaPage.goto(`${world.url}/c/${group}`);
    const card = beaPage.locator(`[data-call-id="${call.id}"]`);
    await card.waitFor();
    expect(await card.getAttribute('data-call-state')).toBe('authorization');
    expect(await card.getByTestId('call-status').textContent()).toBe(en.apps.status.authorization);
    const connect = card.getByRole('button', { name: en.apps.call.connect.replace('{{app}}', 'Weather') });
    await connect.waitFor();
    await card.scrollIntoViewIfNeeded();
    await screenshot(beaPage, 'desktop-light-en-app-connect');
    expect(await seriousViolations(beaPage, world.url)).toEqual([]);

    // Cid, another member, has no button: he reads whom the call waits for.
    await cidPage.goto(`${world.url}/c/${group}`);
    const cidCard = cidPage.locator(`[data-call-id="${call.id}"]`);
    await cidCard.waitFor();
    expect(await cidCard.getByTestId('call-waiting').textContent()).toBe(fr.apps.call.waitingForConnection.replace('{{name}}', 'Bea').replace('{{app}}', 'Weather'));
    expect(await cidCard.getByRole('button').count()).toBe(0);
    await cidCard.scrollIntoViewIfNeeded();
    await screenshot(cidPage, 'phone-dark-fr-app-connect-waiting');

    // Connect: the authorisation server's own page, then back to the conversation.
    await connect.click();
    await beaPage.waitForURL((url) => url.origin === authServer.origin);
    await beaPage.getByRole('heading', { name: 'Fixture authorisation server' }).waitFor();
    await screenshot(beaPage, 'desktop-light-en-app-authorization-server');
    await beaPage.getByLabel('Test user').fill('bea');
    await beaPage.getByRole('button', { name: 'Allow' }).click();
    await beaPage.waitForURL(`${world.url}/c/${group}`);
    const done = beaPage.locator(`[data-call-id="${call.id}"]`);
    await expect.poll(() => done.getAttribute('data-call-state'), { timeout: 15_000 }).toBe('done');
    expect(app.calls).toEqual([{ tool: 'get_weather', arguments: { city: 'Lyon' }, user: 'bea' }]);
    await done.scrollIntoViewIfNeeded();
    await screenshot(beaPage, 'desktop-light-en-app-connected');
    // Cid's card follows the events.
    await expect.poll(() => cidCard.getAttribute('data-call-state')).toBe('done');
    expect(problems.flat()).toEqual([]);
  });
});
