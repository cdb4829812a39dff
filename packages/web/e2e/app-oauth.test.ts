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
 * An app behind OAuth in the browser [WB88]: the fixture authorisation server and app of
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
  let annContext: BrowserContext;
  let bea: BrowserContext;
  let cid: BrowserContext;
  let annPage: Page;
  let beaPage: Page;
  let cidPage: Page;
  let appId = '';
  const problems: string[][] = [];

  beforeAll(async () => {
    world = await startWorld();
    authServer = await startFixtureAuthServer();
    app = await startOAuthFixtureApp(authServer);
    annContext = await world.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'fr-FR', colorScheme: 'light' });
    bea = await world.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', colorScheme: 'light' });
    cid = await world.browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'fr-FR', colorScheme: 'dark' });
    for (const context of [annContext, bea, cid]) {
      context.setDefaultTimeout(10_000);
      await allowAxe(context, world.url);
    }
    annPage = await annContext.newPage();
    beaPage = await bea.newPage();
    cidPage = await cid.newPage();
    for (const page of [annPage, beaPage, cidPage]) problems.push(watchProblems(page));
  }, 120_000);
  afterAll(async () => {
    await world?.close();
    await app?.close();
    await authServer?.close();
  });

  it('[WB73] [WB88] the administrator adds an app behind OAuth, connects it to list it, and approves it', async () => {
    // Ann, the first account, is the administrator.
    await annPage.goto(`${world.url}/`);
    await signUp(annPage, fr, `ann_${suffix}`, 'Ann');
    await annPage.goto(`${world.url}/settings/apps`);
    const form = annPage.getByRole('form', { name: fr.apps.admin.add });
    await form.getByLabel(fr.apps.admin.name).fill('Weather');
    await form.getByLabel(fr.apps.admin.url).fill(app.url);
    await form.getByRole('button', { name: fr.apps.admin.addButton }).click();
    const entry = annPage.getByRole('article', { name: 'Weather' });
    await entry.getByTestId('app-oauth').waitFor();
    expect(await entry.getByTestId('app-oauth').textContent()).toBe(fr.apps.admin.oauth);
    await screenshot(annPage, 'desktop-light-fr-apps-admin-oauth');
    expect(await seriousViolations(annPage, world.url)).toEqual([]);

    await entry.getByRole('button', { name: fr.apps.admin.connect }).click();
    await annPage.waitForURL((url) => url.origin === authServer.origin);
    await annPage.getByLabel('Test user').fill('ann');
    await annPage.getByRole('button', { name: 'Allow' }).click();
    await annPage.waitForURL(`${world.url}/settings/apps`);
    const listed = annPage.getByRole('article', { name: 'Weather' });
    await listed.getByTestId('app-listing').locator('[data-tool="get_weather"]').waitFor();
    await listed.getByRole('button', { name: fr.apps.admin.approve }).click();
    await expect.poll(() => listed.getByTestId('app-status').textContent()).toBe(fr.apps.admin.status.approved);
    await screenshot(annPage, 'desktop-light-fr-apps-admin-oauth-listed');
    const ann = (await ParleyClient.signIn(world.url, { username: `ann_${suffix}`, password })).client;
    const stored = (await ann.api.listAdminApps()).apps[0]!;
    expect(stored).toMatchObject({ oauth: true, status: 'approved', error: null });
    appId = stored.id;
  });

  it('[WB88] the asker connects the app from the call card, comes back, and the call runs with their own token', async () => {
    const ann = (await ParleyClient.signIn(world.url, { username: `ann_${suffix}`, password })).client;
    const added = { id: appId };

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

    // The group's Apps panel says Bea is connected, and lets her disconnect [AP19].
    await beaPage.getByRole('button', { name: en.group.details, exact: true }).click();
    const connection = beaPage.getByTestId('conversation-apps').getByTestId('app-connection');
    await expect.poll(() => connection.textContent()).toContain(en.apps.panel.connected);
    await connection.scrollIntoViewIfNeeded();
    await screenshot(beaPage, 'desktop-light-en-app-connected-panel');
    expect(await seriousViolations(beaPage, world.url)).toEqual([]);
    await connection.getByRole('button', { name: en.apps.panel.disconnectLabel.replace('{{name}}', 'Weather') }).click();
    await expect.poll(() => connection.textContent()).toContain(en.apps.panel.notConnected);
    expect((await beaApi.api.listApps()).apps[0]).toMatchObject({ oauth: true, connected: false });
    expect(problems.flat()).toEqual([]);
  });

  it('[AP24] a refused authorisation lands the browser on a page saying why, in its language, with the way back to Parley', async () => {
    // Cid (a French phone, dark) starts connecting the app from his own session, then says no at the authorisation server.
    const started = await cidPage.evaluate(async (id) => {
      const response = await fetch(`/api/apps/${id}/authorization`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      return (await response.json()) as { authorizationUrl: string | null };
    }, appId);
    expect(started.authorizationUrl).not.toBeNull();
    const state = new URL(started.authorizationUrl!).searchParams.get('state')!;
    const cidProblems = problems[2]!;
    const before = cidProblems.length;
    const landed = await cidPage.goto(`${world.url}/api/app-authorization/callback?state=${encodeURIComponent(state)}&error=access_denied`);
    expect(landed?.status()).toBe(409);
    await cidPage.getByRole('heading', { name: 'L’application n’a pas été connectée' }).waitFor();
    expect(await cidPage.locator('main p').first().textContent()).toContain('Vous avez refusé');
    // Its own style applies under its policy: no violation reported, and the card is styled.
    expect(await cidPage.locator('main').evaluate((element) => getComputedStyle(element).borderRadius)).toBe('12px');
    expect(cidProblems.slice(before)).toEqual([]);
    await screenshot(cidPage, 'phone-dark-fr-app-authorization-refused');
    await cidPage.getByRole('link', { name: 'Retour à Parley' }).click();
    await cidPage.waitForURL(`${world.url}/`);
  });
});
