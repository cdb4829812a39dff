import crypto from 'node:crypto';
import fs from 'node:fs';
import { type FixtureApp, startFixtureApp } from '@parley/apps/test';
import type { AppCall } from '@parley/protocol';
import { ParleyClient } from '@parley/sdk';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { en } from '../src/i18n/en.js';
import { fr } from '../src/i18n/fr.js';
import { allowAxe, CHROMIUM, inListView, messageList, password, screenshot, send, seriousViolations, signUp, startWorld, watchProblems, type World } from './browser.js';

const suffix = crypto.randomBytes(3).toString('hex');
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

/** Makes a page phone-sized and waits until the drawer has slid out of view [WB22]. */
async function toPhone(page: Page): Promise<void> {
  await page.setViewportSize(PHONE);
  await page.waitForFunction(() => {
    const box = document.querySelector('[data-testid="sidebar"]')?.getBoundingClientRect();
    return !box || box.right <= 0;
  });
}

/**
 * The apps' screens [WB70]–[WB73], with a real MCP app (the fixture of packages/apps) on loopback:
 * Ann, the first account and so the administrator, adds and approves it; Bea switches it on in
 * their group; the assistant (driven here through its bot account, as the runtime would) calls a
 * write tool for Bea, whose tab alone can confirm it.
 */
describe.skipIf(!fs.existsSync(CHROMIUM))("the apps' screens in the browser", { timeout: 90_000 }, () => {
  let world: World;
  let app: FixtureApp;
  let ann: BrowserContext;
  let bea: BrowserContext;
  let annFr: BrowserContext;
  let annPage: Page;
  let beaPage: Page;
  let annFrPage: Page;
  const problems: string[][] = [];
  let bot: ParleyClient;
  let annApi: ParleyClient;
  let groupId = '';
  let appId = '';
  const expectAccessible = async (page: Page, screen: string) => {
    expect(await seriousViolations(page, world.url), screen).toEqual([]);
  };

  beforeAll(async () => {
    world = await startWorld();
    app = await startFixtureApp();
    bot = new ParleyClient({ baseUrl: world.url, token: world.server.assistant.token });
    ann = await world.browser.newContext({ viewport: DESKTOP, locale: 'en-US', colorScheme: 'light' });
    bea = await world.browser.newContext({ viewport: DESKTOP, locale: 'fr-FR', colorScheme: 'dark' });
    annFr = await world.browser.newContext({ viewport: PHONE, locale: 'fr-FR', colorScheme: 'dark' });
    for (const context of [ann, bea, annFr]) {
      context.setDefaultTimeout(10_000);
      await allowAxe(context, world.url);
    }
    annPage = await ann.newPage();
    beaPage = await bea.newPage();
    annFrPage = await annFr.newPage();
    for (const page of [annPage, beaPage, annFrPage]) problems.push(watchProblems(page));

    // Ann signs up first: the first account of an install is its administrator [AP1].
    await annPage.goto(`${world.url}/`);
    await signUp(annPage, en, `ann_${suffix}`, 'Ann');
    await beaPage.goto(`${world.url}/`);
    await signUp(beaPage, fr, `bea_${suffix}`, 'Béa');
    annApi = (await ParleyClient.signIn(world.url, { username: `ann_${suffix}`, password })).client;
    expect((await annApi.api.getMe()).admin).toBe(true);
    // Ann again, on a phone, in French and dark.
    await annFrPage.goto(`${world.url}/sign-in`);
    await annFrPage.getByLabel(fr.auth.username).fill(`ann_${suffix}`);
    await annFrPage.getByLabel(fr.auth.password).fill(password);
    await annFrPage.locator('form button[type="submit"]').click();
    await annFrPage.getByRole('button', { name: fr.shell.openMenu }).waitFor();
  }, 120_000);
  afterAll(async () => {
    await world?.close();
    await app?.close();
  });

  it('[WB73] the administrator adds an app by URL, reviews its listing and approves the hash read; a member cannot reach the screen', async () => {
    await annPage.goto(`${world.url}/settings`);
    await annPage.getByRole('link', { name: en.apps.admin.open }).click();
    await annPage.getByRole('heading', { name: en.apps.admin.title, level: 1 }).waitFor();
    expect(new URL(annPage.url()).pathname).toBe('/settings/apps');
    await annPage.getByText(en.apps.admin.none).waitFor();

    const form = annPage.getByRole('form', { name: en.apps.admin.add });
    await form.getByLabel(en.apps.admin.name).fill('Weather');
    await form.getByLabel(en.apps.admin.url).fill(app.url);
    await form.getByRole('button', { name: en.apps.admin.addButton }).click();
    const entry = annPage.getByRole('article', { name: 'Weather' });
    await entry.waitFor();
    expect(await entry.getByTestId('app-status').textContent()).toBe(en.apps.admin.status.review);
    const stored = (await annApi.api.listAdminApps()).apps[0];
    appId = stored?.id ?? '';
    expect(appId).not.toBe('');

    // The listing for review: server, tools with annotations and inputs, the widget, the hash.
    const listing = entry.getByTestId('app-listing');
    await listing.getByText(en.apps.admin.server.replace('{{name}}', 'fixture-weather').replace('{{version}}', '1.0.0'), { exact: false }).waitFor();
    const weather = listing.locator('[data-tool="get_weather"]');
    expect(await weather.textContent()).toContain('Weather');
    expect(await weather.textContent()).toContain(en.apps.admin.annotation.readOnly);
    expect(await weather.textContent()).toContain('ui://weather/card.html');
    expect(await weather.textContent()).toContain(`city: string (${en.apps.admin.required})`);
    const deleteNote = listing.locator('[data-tool="delete_note"]');
    expect(await deleteNote.textContent()).toContain('Delete a note for good.');
    expect(await deleteNote.textContent()).toContain(en.apps.admin.annotation.destructive);
    expect(await deleteNote.textContent()).toContain(en.apps.admin.annotation.writes);
    expect(await listing.locator('[data-tool="refresh_card"]').textContent()).toContain(en.apps.admin.appOnly);
    expect(await listing.getByTestId('listing-hash').textContent()).toBe(stored?.listing?.hash);
    await deleteNote.scrollIntoViewIfNeeded();
    await screenshot(annPage, 'desktop-light-en-apps-admin');
    await expectAccessible(annPage, 'apps admin');

    await entry.getByRole('button', { name: en.apps.admin.approve }).click();
    await expect.poll(() => entry.getByTestId('app-status').textContent()).toBe(en.apps.admin.status.approved);
    const approved = await annApi.api.getAdminApp({ params: { appId } });
    expect(approved).toMatchObject({ status: 'approved', approvedHash: stored?.listing?.hash });

    // Its tools change: Refresh lists it again, and it says it is back in review.
    app.drift(true);
    await entry.getByRole('button', { name: en.apps.admin.refresh }).click();
    await entry.getByTestId('back-in-review').waitFor();
    expect(await entry.getByTestId('app-status').textContent()).toBe(en.apps.admin.status.review);
    expect(await entry.getByRole('button', { name: en.apps.admin.hide }).getAttribute('aria-expanded')).toBe('true');
    await entry.locator('[data-tool="export_everything"]').waitFor();

    // The same screen in French, dark, on a phone.
    await annFrPage.goto(`${world.url}/settings/apps`);
    const frEntry = annFrPage.getByRole('article', { name: 'Weather' });
    await frEntry.getByTestId('back-in-review').waitFor();
    expect(await frEntry.getByTestId('back-in-review').textContent()).toBe(fr.apps.admin.backInReview);
    await frEntry.getByTestId('back-in-review').scrollIntoViewIfNeeded();
    await screenshot(annFrPage, 'phone-dark-fr-apps-admin');
    await expectAccessible(annFrPage, 'apps admin, phone, dark, French');

    // Approved again, on what it lists now.
    await entry.getByRole('button', { name: en.apps.admin.approve }).click();
    await expect.poll(() => entry.getByTestId('app-status').textContent()).toBe(en.apps.admin.status.approved);
    expect(await entry.getByTestId('back-in-review').count()).toBe(0);
    const again = await annApi.api.getAdminApp({ params: { appId } });
    expect(again.approvedHash).toBe(again.listing?.hash);
    expect(again.approvedHash).not.toBe(stored?.listing?.hash);

    // A member is told the screen is for administrators; nothing is listed.
    await beaPage.goto(`${world.url}/settings/apps`);
    await beaPage.getByRole('alert').getByText(fr.apps.admin.notAdmin).waitFor();
    expect(await beaPage.getByRole('article').count()).toBe(0);
    await beaPage.goto(`${world.url}/settings`);
    await beaPage.getByRole('heading', { name: fr.settings.title, level: 1 }).waitFor();
    expect(await beaPage.getByRole('link', { name: fr.apps.admin.open }).count()).toBe(0);
  });

  it('[WB89] a server without PARLEY_APPS_STDIO=on offers no local command, says why, and a late refusal says the same', async () => {
    const config = world.server.context.config as { appsStdio: boolean };
    expect(config.appsStdio).toBe(false);
    await annPage.goto(`${world.url}/settings/apps`);
    const form = annPage.getByRole('form', { name: en.apps.admin.add });
    const local = form.getByLabel(en.apps.admin.local);
    await annPage.getByRole('article', { name: 'Weather' }).waitFor();
    expect(await local.isDisabled()).toBe(true);
    expect(await form.getByLabel(en.apps.admin.remote).isChecked()).toBe(true);
    expect(await form.getByLabel(en.apps.admin.command).count()).toBe(0);
    // The disabled choice is described by the reason, which names the setting.
    const reason = form.getByTestId('app-local-off');
    expect(await reason.textContent()).toBe(en.apps.admin.localOff);
    expect(en.apps.admin.localOff).toContain('PARLEY_APPS_STDIO');
    expect(await local.getAttribute('aria-describedby')).toBe(await reason.getAttribute('id'));
    await expectAccessible(annPage, 'apps admin without local apps');

    // In French, on a phone, dark.
    await annFrPage.goto(`${world.url}/settings/apps`);
    const frForm = annFrPage.getByRole('form', { name: fr.apps.admin.add });
    await annFrPage.getByRole('article', { name: 'Weather' }).waitFor();
    expect(await frForm.getByLabel(fr.apps.admin.local).isDisabled()).toBe(true);
    expect(await frForm.getByTestId('app-local-off').textContent()).toBe(fr.apps.admin.localOff);
    expect(fr.apps.admin.localOff).toContain('PARLEY_APPS_STDIO');
    await frForm.scrollIntoViewIfNeeded();
    await screenshot(annFrPage, 'phone-dark-fr-apps-admin-no-local');

    // With the setting on, the choice and its command field are there...
    config.appsStdio = true;
    try {
      await annPage.reload();
      await annPage.getByRole('article', { name: 'Weather' }).waitFor();
      await expect.poll(() => local.isDisabled()).toBe(false);
      expect(await form.getByTestId('app-local-off').count()).toBe(0);
      await local.check();
      await form.getByLabel(en.apps.admin.name).fill('Local');
      await form.getByLabel(en.apps.admin.command).fill('/usr/bin/env\nnode');
      await screenshot(annPage, 'desktop-light-en-apps-admin-local');
      // ...and when it goes off before the form is sent, the refusal says why, in the person's language.
      config.appsStdio = false;
      await form.getByRole('button', { name: en.apps.admin.addButton }).click();
      await form.getByRole('alert').getByText(en.apps.admin.localOff).waitFor();
    } finally {
      config.appsStdio = false;
    }
    expect((await annApi.api.listAdminApps()).apps.map((item) => item.name)).toEqual(['Weather']);
    await form.getByLabel(en.apps.admin.remote).check();
    await form.getByLabel(en.apps.admin.name).fill('');
  });

  it('[WB72] a member switches the app on after a warning; the other member sees it on at once', async () => {
    await annPage.goto(`${world.url}/`);
    await annPage.getByRole('button', { name: en.sidebar.newGroup }).click();
    await annPage.getByPlaceholder(en.group.namePlaceholder).fill('Trip');
    await annPage.getByPlaceholder(en.group.usernamesPlaceholder).fill(`bea_${suffix}`);
    await annPage.getByRole('button', { name: en.common.create }).click();
    await annPage.getByRole('heading', { name: 'Trip' }).waitFor();
    groupId = new URL(annPage.url()).pathname.split('/')[2] ?? '';
    await beaPage.goto(`${world.url}/c/${groupId}`);
    await beaPage.getByRole('heading', { name: 'Trip' }).waitFor();

    await annPage.getByRole('button', { name: en.group.details, exact: true }).click();
    const annSwitch = annPage.getByTestId('conversation-apps').getByRole('switch', { name: 'Weather' });
    await annSwitch.waitFor();
    expect(await annSwitch.getAttribute('aria-checked')).toBe('false');

    await beaPage.getByRole('button', { name: fr.group.details, exact: true }).click();
    const beaSwitch = beaPage.getByTestId('conversation-apps').getByRole('switch', { name: 'Weather' });
    await beaSwitch.click();
    // delete_note is not read-only: a warning first; Cancel leaves it off.
    const warning = beaPage.getByRole('dialog', { name: fr.apps.panel.warnTitle.replace('{{name}}', 'Weather') });
    await warning.waitFor();
    await screenshot(beaPage, 'desktop-dark-fr-app-warning');
    await expectAccessible(beaPage, 'app warning, dark, French');
    await warning.getByRole('button', { name: fr.common.cancel }).click();
    expect(await beaSwitch.getAttribute('aria-checked')).toBe('false');
    expect(await beaSwitch.evaluate((element) => element === document.activeElement)).toBe(true);
    expect((await annApi.api.listConversationApps({ params: { conversationId: groupId } })).enabled).toEqual([]);

    await beaSwitch.click();
    await warning.getByRole('button', { name: fr.apps.panel.switchOn }).click();
    await expect.poll(() => beaSwitch.getAttribute('aria-checked')).toBe('true');
    // Live in Ann's open panel, from the app-enabled event.
    await expect.poll(() => annSwitch.getAttribute('aria-checked')).toBe('true');
    expect((await annApi.api.listConversationApps({ params: { conversationId: groupId } })).enabled.map((item) => item.appId)).toEqual([appId]);
    await expectAccessible(annPage, 'group panel with apps');

    // Ann switches it off, then on again (no warning needed to switch off): Bea follows each time.
    await annSwitch.click();
    await expect.poll(() => beaSwitch.getAttribute('aria-checked')).toBe('false');
    await annSwitch.click();
    await annPage.getByRole('dialog', { name: en.apps.panel.warnTitle.replace('{{name}}', 'Weather') }).getByRole('button', { name: en.apps.panel.switchOn }).click();
    await expect.poll(() => beaSwitch.getAttribute('aria-checked')).toBe('true');

    await annPage.getByRole('button', { name: en.common.close, exact: true }).click();
    await beaPage.getByRole('button', { name: fr.common.close, exact: true }).click();
  });

  it("[WB70] [WB71] the assistant's write call waits for the asker's approval in the asker's tab only; approved, it runs and every member sees the result as text", async () => {
    await send(beaPage, fr, 'Efface la note, s’il te plaît');
    const trigger = messageList(annPage).locator('article', { hasText: 'Efface la note' });
    await trigger.waitFor();
    const triggerId = (await trigger.getAttribute('data-message-id')) ?? '';
    const turn = await bot.api.startTurn({ params: { conversationId: groupId }, body: { id: crypto.randomUUID().replaceAll('-', ''), triggerMessageId: triggerId } });
    // Markup in the arguments and the app's output is text, never HTML.
    const noteId = '<b id="injected">n1</b>';
    const pending: AppCall = await bot.api.callAppTool({
      params: { conversationId: groupId, appId },
      body: { id: crypto.randomUUID().replaceAll('-', ''), tool: 'delete_note', arguments: JSON.stringify({ id: noteId }), turnId: turn.id },
    });
    expect(pending.status).toBe('pending');

    const beaCard = beaPage.locator(`[data-call-id="${pending.id}"]`);
    const annCard = annPage.locator(`[data-call-id="${pending.id}"]`);
    await beaCard.waitFor();
    await annCard.waitFor();
    expect(await beaCard.getAttribute('aria-label')).toBe('Weather : delete_note');
    expect(await beaCard.getByTestId('call-status').textContent()).toBe(fr.apps.status.pending);
    expect(JSON.parse((await beaCard.getByTestId('call-arguments').textContent()) ?? '')).toEqual({ id: noteId });
    expect(await beaCard.getByText(fr.apps.call.askedBy.replace('{{name}}', 'Béa')).count()).toBe(1);
    // Only the asker gets the buttons; Ann reads whom it waits for.
    const confirm = beaCard.getByRole('group', { name: fr.apps.call.confirm });
    for (const name of [fr.apps.call.approveOnce, fr.apps.call.approveConversation, fr.apps.call.deny]) await confirm.getByRole('button', { name }).waitFor();
    expect(await annCard.getByRole('button').count()).toBe(0);
    expect(await annCard.getByTestId('call-waiting').textContent()).toBe(en.apps.call.waitingFor.replace('{{name}}', 'Béa'));
    expect(await annPage.locator('#injected').count()).toBe(0);
    expect(app.calls).toEqual([]);

    await beaCard.scrollIntoViewIfNeeded();
    await screenshot(beaPage, 'desktop-dark-fr-app-call-pending');
    await annCard.scrollIntoViewIfNeeded();
    await screenshot(annPage, 'desktop-light-en-app-call-waiting');
    await expectAccessible(beaPage, 'pending call card, dark, French');
    await expectAccessible(annPage, 'waiting call card');
    await toPhone(beaPage);
    await beaCard.scrollIntoViewIfNeeded();
    await screenshot(beaPage, 'phone-dark-fr-app-call-pending');
    await expectAccessible(beaPage, 'pending call card, phone');
    await beaPage.setViewportSize(DESKTOP);

    await confirm.getByRole('button', { name: fr.apps.call.approveOnce }).click();
    await expect.poll(() => beaCard.getAttribute('data-call-state')).toBe('done');
    await expect.poll(() => annCard.getAttribute('data-call-state')).toBe('done');
    expect(app.calls).toEqual([{ tool: 'delete_note', arguments: { id: noteId } }]);
    expect(await annCard.getByTestId('call-status').textContent()).toBe(en.apps.status.done);
    expect(await annCard.getByText(en.apps.call.approvedOnceBy.replace('{{name}}', 'Béa')).count()).toBe(1);
    const done = await annApi.api.getAppCall({ params: { conversationId: groupId, callId: pending.id } });
    // The size in bytes and the duration, in each member's language.
    expect(await annCard.getByTestId('call-summary').textContent()).toMatch(/^\d+\sB in [\d.]+\s(ms|s)$/);
    expect(await beaCard.getByTestId('call-summary').textContent()).toMatch(/^\d+\so en [\d,]+\s(ms|s)$/);
    expect(done.resultBytes).toBeGreaterThan(0);
    await annCard.locator('summary').filter({ hasText: en.apps.call.result }).click();
    expect(await annCard.getByTestId('call-result').textContent()).toBe(`deleted note ${noteId}`);
    expect(await annPage.locator('#injected').count()).toBe(0);
    expect(await beaCard.getByRole('button').count()).toBe(0);
    await annCard.scrollIntoViewIfNeeded();
    await screenshot(annPage, 'desktop-light-en-app-call-done');
    await toPhone(annPage);
    await annCard.scrollIntoViewIfNeeded();
    await screenshot(annPage, 'phone-light-en-app-call-done');
    await expectAccessible(annPage, 'done call card, phone');
    await annPage.setViewportSize(DESKTOP);

    // The next call asks again; Ann is refused by the server, Bea denies it; both see "denied".
    const second = await bot.api.callAppTool({
      params: { conversationId: groupId, appId },
      body: { id: crypto.randomUUID().replaceAll('-', ''), tool: 'delete_note', arguments: '{"id":"n2"}', turnId: turn.id },
    });
    const beaSecond = beaPage.locator(`[data-call-id="${second.id}"]`);
    await beaSecond.getByRole('button', { name: fr.apps.call.deny }).click();
    await expect.poll(() => annPage.locator(`[data-call-id="${second.id}"]`).getAttribute('data-call-state')).toBe('denied');
    expect(await annPage.locator(`[data-call-id="${second.id}"]`).getByText(en.apps.call.deniedBy.replace('{{name}}', 'Béa')).count()).toBe(1);
    expect(app.calls).toHaveLength(1);
    await bot.api.endTurn({ params: { conversationId: groupId, turnId: turn.id }, body: { status: 'completed', text: 'Note n1 deleted; n2 kept, as you said.' } });
    await messageList(annPage).locator('article', { hasText: 'Note n1 deleted' }).waitFor();

    // A reload reads the calls with the history: the same cards, in order, before the answer.
    await annPage.reload();
    await annPage.locator(`[data-call-id="${second.id}"][data-call-state="denied"]`).waitFor();
    const order = await messageList(annPage).locator('[data-call-id], article[data-message-id]').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-call-id') ?? node.textContent?.slice(0, 40) ?? ''));
    const answerAt = order.findIndex((text) => text.includes('Note n1 deleted'));
    expect(order.indexOf(pending.id)).toBeGreaterThan(-1);
    expect(order.indexOf(pending.id)).toBeLessThan(order.indexOf(second.id));
    expect(order.indexOf(second.id)).toBeLessThan(answerAt);
  });

  /** Béa asks the assistant; its bot account starts the answer, as the runtime would. */
  const turnForBea = async (text: string) => {
    await send(beaPage, fr, text);
    const trigger = messageList(annPage).locator('article', { hasText: text });
    await trigger.waitFor();
    const triggerMessageId = (await trigger.getAttribute('data-message-id')) ?? '';
    return bot.api.startTurn({ params: { conversationId: groupId }, body: { id: crypto.randomUUID().replaceAll('-', ''), triggerMessageId } });
  };
  const callTool = (turnId: string, tool: string, args: Record<string, unknown>) =>
    bot.api.callAppTool({ params: { conversationId: groupId, appId }, body: { id: crypto.randomUUID().replaceAll('-', ''), tool, arguments: JSON.stringify(args), turnId } });

  it('[WB71] Approve for this conversation: the next call of that tool by the same asker runs at once, its card asks nothing', async () => {
    const turn = await turnForBea('Efface les notes n3 et n4');
    const first = await callTool(turn.id, 'delete_note', { id: 'n3' });
    expect(first.status).toBe('pending');
    const beaCard = beaPage.locator(`[data-call-id="${first.id}"]`);
    await beaCard.getByRole('group', { name: fr.apps.call.confirm }).getByRole('button', { name: fr.apps.call.approveConversation }).click();
    await expect.poll(() => annPage.locator(`[data-call-id="${first.id}"]`).getAttribute('data-call-state')).toBe('done');
    expect(await annPage.locator(`[data-call-id="${first.id}"]`).getByText(en.apps.call.approvedForConversationBy.replace('{{name}}', 'Béa')).count()).toBe(1);
    const ran = app.calls.length;

    // The second call of delete_note for Béa: no confirmation, it has run by the time it is answered.
    const second = await callTool(turn.id, 'delete_note', { id: 'n4' });
    // It stands on Béa's approval for the conversation, recorded as hers.
    expect(second).toMatchObject({ status: 'completed', approval: 'conversation', decidedBy: first.askedBy });
    expect(app.calls.slice(ran)).toEqual([{ tool: 'delete_note', arguments: { id: 'n4' } }]);
    for (const [page, words] of [[beaPage, fr], [annPage, en]] as const) {
      const card = page.locator(`[data-call-id="${second.id}"]`);
      await expect.poll(() => card.getAttribute('data-call-state')).toBe('done');
      expect(await card.getByRole('group', { name: words.apps.call.confirm }).count()).toBe(0);
      expect(await card.getByRole('button', { name: words.apps.call.approveOnce }).count()).toBe(0);
      expect(await card.getByText(words.apps.call.approvedForConversationBy.replace('{{name}}', 'Béa'), { exact: false }).count()).toBe(1);
    }
    await beaPage.locator(`[data-call-id="${second.id}"]`).scrollIntoViewIfNeeded();
    await screenshot(beaPage, 'desktop-dark-fr-app-call-approved-earlier');
    await expectAccessible(beaPage, 'call approved for the conversation, dark, French');
    await bot.api.endTurn({ params: { conversationId: groupId, turnId: turn.id }, body: { status: 'completed', text: 'Notes n3 and n4 deleted.' } });
    await messageList(annPage).locator('article', { hasText: 'Notes n3 and n4 deleted' }).waitFor();
  });

  it('[WB70] a running call shows the progress the app reports on its card, for every member, and the card ends done', async () => {
    const turn = await turnForBea('Compte jusqu’à cinq, lentement');
    // count_slowly is read-only: it runs at once, reporting each step.
    const running = callTool(turn.id, 'count_slowly', { steps: 5, delayMs: 1000 });
    const find = async () => (await annApi.api.listAppCalls({ params: { conversationId: groupId } })).calls.find((item) => item.tool === 'count_slowly');
    await expect.poll(async () => (await find())?.status, { timeout: 10_000 }).toBe('running');
    const callId = (await find())!.id;
    const steps = { en: new RegExp(`^${en.apps.call.progressOf.replace('{{progress}}', '[1-4]').replace('{{total}}', '5')} · step [1-4] of 5$`), fr: new RegExp(`^${fr.apps.call.progressOf.replace('{{progress}}', '[1-4]').replace('{{total}}', '5')} · step [1-4] of 5$`) };
    for (const [page, words, pattern] of [[annPage, en, steps.en], [beaPage, fr, steps.fr]] as const) {
      const card = page.locator(`[data-call-id="${callId}"]`);
      await card.waitFor();
      await expect.poll(() => card.getByTestId('call-progress').textContent().catch(() => ''), { timeout: 10_000 }).toMatch(pattern);
      expect(await card.getByTestId('call-status').textContent()).toBe(words.apps.status.running);
      expect(await card.getByText(words.apps.call.readOnly).count()).toBe(1);
    }
    await annPage.locator(`[data-call-id="${callId}"]`).scrollIntoViewIfNeeded();
    await screenshot(annPage, 'desktop-light-en-app-call-progress');
    await expectAccessible(annPage, 'running call with progress');
    expect((await running).status).toBe('completed');
    for (const page of [annPage, beaPage]) {
      const card = page.locator(`[data-call-id="${callId}"]`);
      await expect.poll(() => card.getAttribute('data-call-state')).toBe('done');
      expect(await card.getByTestId('call-progress').count()).toBe(0);
    }
    await bot.api.endTurn({ params: { conversationId: groupId, turnId: turn.id }, body: { status: 'completed', text: 'Counted to five.' } });
  });

  it('[WB70] [WB71] a confirmation given after its answer ended expires, for every member, and nothing runs; a denied card says who denied', async () => {
    // Ann asks this time (Béa's delete_note runs at once here since she approved it for the conversation).
    await send(annPage, en, 'Delete notes n5 and n6');
    const trigger = messageList(annPage).locator('article', { hasText: 'Delete notes n5 and n6' });
    await trigger.waitFor();
    const turn = await bot.api.startTurn({ params: { conversationId: groupId }, body: { id: crypto.randomUUID().replaceAll('-', ''), triggerMessageId: (await trigger.getAttribute('data-message-id')) ?? '' } });
    const late = await callTool(turn.id, 'delete_note', { id: 'n5' });
    const denied = await callTool(turn.id, 'delete_note', { id: 'n6' });
    expect([late.status, denied.status]).toEqual(['pending', 'pending']);
    const ran = app.calls.length;

    // Ann's list was at the bottom: it follows both cards as they come, the newest on screen
    // without scrolling to it [WB9] (it once stayed put, and the card was not even rendered).
    await expect.poll(() => inListView(annPage.locator(`[data-call-id="${denied.id}"]`)), { timeout: 5_000 }).toBe(true);

    // Ann denies one: both members read who denied it.
    await annPage.locator(`[data-call-id="${denied.id}"]`).getByRole('button', { name: en.apps.call.deny }).click();
    for (const [page, words] of [[annPage, en], [beaPage, fr]] as const) {
      const card = page.locator(`[data-call-id="${denied.id}"]`);
      await expect.poll(() => card.getAttribute('data-call-state')).toBe('denied');
      expect(await card.getByTestId('call-status').textContent()).toBe(words.apps.status.denied);
      expect(await card.getByText(words.apps.call.deniedBy.replace('{{name}}', 'Ann'), { exact: false }).count()).toBe(1);
      expect(await card.getByRole('button').count()).toBe(0);
    }
    await beaPage.locator(`[data-call-id="${denied.id}"]`).scrollIntoViewIfNeeded();
    await screenshot(beaPage, 'desktop-dark-fr-app-call-denied');

    // The answer ends (stopped) while the other still waits; Ann's late approval expires it.
    await bot.api.endTurn({ params: { conversationId: groupId, turnId: turn.id }, body: { status: 'stopped', text: '' } });
    const annLate = annPage.locator(`[data-call-id="${late.id}"]`);
    await annLate.getByRole('button', { name: en.apps.call.approveOnce }).click();
    // The server's refusal, in Ann's words; the card follows the call, expired, for every member.
    await annLate.getByRole('alert').getByText(en.errors.fields.callDecided).waitFor();
    for (const [page, words] of [[annPage, en], [beaPage, fr]] as const) {
      const card = page.locator(`[data-call-id="${late.id}"]`);
      await expect.poll(() => card.getAttribute('data-call-state')).toBe('expired');
      expect(await card.getByTestId('call-status').textContent()).toBe(words.apps.status.expired);
      expect(await card.getByText(words.apps.call.lateBy.replace('{{name}}', 'Ann'), { exact: false }).count()).toBe(1);
      // Why, in the member's language (the recorded words as its title).
      expect(await card.getByTestId('call-error').textContent()).toBe(words.apps.call.endedEarly.expired);
      expect(await card.getByTestId('call-error').getAttribute('title')).toMatch(/^expired:/);
      expect(await card.getByRole('group', { name: words.apps.call.confirm }).count()).toBe(0);
    }
    expect(app.calls.length).toBe(ran);
    await annLate.scrollIntoViewIfNeeded();
    await screenshot(annPage, 'desktop-light-en-app-call-expired');
    await expectAccessible(annPage, 'expired and denied call cards');
    await beaPage.locator(`[data-call-id="${late.id}"]`).scrollIntoViewIfNeeded();
    await expectAccessible(beaPage, 'expired and denied call cards, dark, French');
  });

  it('[WB73] Remove asks first; removed, the app goes off in the group for every member, live', async () => {
    await beaPage.getByRole('button', { name: fr.group.details, exact: true }).click();
    const beaSwitch = beaPage.getByTestId('conversation-apps').getByRole('switch', { name: 'Weather' });
    await expect.poll(() => beaSwitch.getAttribute('aria-checked')).toBe('true');

    await annPage.goto(`${world.url}/settings/apps`);
    const entry = annPage.getByRole('article', { name: 'Weather' });
    await entry.getByRole('button', { name: en.apps.admin.remove }).click();
    const dialog = annPage.getByRole('dialog', { name: en.apps.admin.removeTitle.replace('{{name}}', 'Weather') });
    await dialog.getByRole('button', { name: en.common.cancel }).click();
    expect((await annApi.api.listAdminApps()).apps).toHaveLength(1);
    await entry.getByRole('button', { name: en.apps.admin.remove }).click();
    await dialog.getByRole('button', { name: en.apps.admin.remove }).click();
    await annPage.getByText(en.apps.admin.none).waitFor();
    expect((await annApi.api.listAdminApps()).apps).toEqual([]);
    // The app-disabled event reaches Bea's open panel.
    await expect.poll(() => beaSwitch.count()).toBe(0);
    expect((await annApi.api.listConversationApps({ params: { conversationId: groupId } })).enabled).toEqual([]);
    for (const list of problems) expect(list).toEqual([]);
  });
});
