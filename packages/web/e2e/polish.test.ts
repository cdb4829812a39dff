import crypto from 'node:crypto';
import fs from 'node:fs';
import { ParleyClient } from '@parley/sdk';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { en } from '../src/i18n/en.js';
import { fr } from '../src/i18n/fr.js';
import { allowAxe, CHROMIUM, messageList, password, screenshot, send, seriousViolations, signUp, startWorld, watchProblems, type World } from './browser.js';

const suffix = crypto.randomBytes(3).toString('hex');

/**
 * Wraps `window.Notification` before the page's scripts run: every notification the page makes
 * is recorded (title, body, the object itself, to click it), and so is every request for the
 * permission, which then goes to the browser as usual.
 */
function recordNotifications() {
  const recorded = window as unknown as { __notifications: { title: string; body: string; notification: Notification }[]; __asked: number };
  recorded.__notifications = [];
  recorded.__asked = 0;
  const Real = window.Notification;
  class Recorded extends Real {
    constructor(title: string, options?: NotificationOptions) {
      super(title, options);
      recorded.__notifications.push({ title, body: options?.body ?? '', notification: this });
    }
  }
  Object.defineProperty(Recorded, 'permission', { get: () => Real.permission });
  Object.defineProperty(Recorded, 'requestPermission', {
    value: (...args: Parameters<typeof Real.requestPermission>) => {
      recorded.__asked += 1;
      return Real.requestPermission(...args);
    },
  });
  window.Notification = Recorded;
}

type Recorded = { title: string; body: string }[];
const notificationsOf = (page: Page) =>
  page.evaluate(() => (window as unknown as { __notifications: Recorded }).__notifications.map(({ title, body }) => ({ title, body })));
const askedOf = (page: Page) => page.evaluate(() => (window as unknown as { __asked: number }).__asked);

describe.skipIf(!fs.existsSync(CHROMIUM))('code blocks, the quick switcher, notifications and sizes in the browser', { timeout: 120_000 }, () => {
  let world: World;
  const expectAccessible = async (page: Page, screen: string) => {
    expect(await seriousViolations(page, world.url), screen).toEqual([]);
  };
  let cam: BrowserContext;
  let dia: BrowserContext;
  let camPage: Page;
  let diaPage: Page;
  let camProblems: string[];
  let diaProblems: string[];
  let camApi: ParleyClient;
  let eve: ParleyClient;
  let groupId = '';
  let directId = '';

  beforeAll(async () => {
    world = await startWorld();
    // Cam's browser allows notifications already; Dia's has not been asked.
    cam = await world.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', colorScheme: 'light' });
    dia = await world.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'fr-FR', colorScheme: 'dark' });
    await cam.grantPermissions(['notifications', 'clipboard-read', 'clipboard-write'], { origin: world.url });
    for (const context of [cam, dia]) {
      context.setDefaultTimeout(10_000);
      await context.addInitScript(recordNotifications);
      await allowAxe(context, world.url);
    }
    camPage = await cam.newPage();
    diaPage = await dia.newPage();
    camProblems = watchProblems(camPage);
    diaProblems = watchProblems(diaPage);

    await diaPage.goto(`${world.url}/`);
    await signUp(diaPage, fr, `dia_${suffix}`, 'Dia Lefèvre');
    await camPage.goto(`${world.url}/`);
    await signUp(camPage, en, `cam_${suffix}`, 'Cam');
    camApi = (await ParleyClient.signIn(world.url, { username: `cam_${suffix}`, password })).client;
    // Eve shares no conversation with Cam: the switcher finds her only by asking the server.
    eve = (await ParleyClient.signUp(world.url, { username: `eve_${suffix}`, password, displayName: 'Ève Durand' })).client;

    await camPage.getByRole('button', { name: en.sidebar.newGroup }).click();
    await camPage.getByPlaceholder(en.group.namePlaceholder).fill('Rust club');
    await camPage.getByPlaceholder(en.group.usernamesPlaceholder).fill(`dia_${suffix}`);
    await camPage.getByRole('button', { name: en.common.create }).click();
    await camPage.getByRole('heading', { name: 'Rust club' }).waitFor();
    groupId = new URL(camPage.url()).pathname.split('/')[2] ?? '';
    await diaPage.locator(`[data-conversation-id="${groupId}"]`).click();
    await diaPage.getByRole('heading', { name: 'Rust club' }).waitFor();
  }, 120_000);
  afterAll(async () => {
    await world?.close();
  });

  it('[WB60] [WB61] a code block is highlighted once its grammar loads, markup in it stays text, and Copy copies it', async () => {
    // Nothing of the highlighter is loaded before a block needs it.
    const highlighterLoaded = (page: Page) => page.evaluate(() => performance.getEntriesByType('resource').some((entry) => /\/assets\/highlight-[\w-]+\.js$/.test(entry.name)));
    expect(await highlighterLoaded(diaPage)).toBe(false);
    const code = 'const greeting: string = "<script>window.pwned = 1</script>";\nfunction hello(name: string) {\n  return `hi ${name}`; // a comment that is long enough to make this line scroll sideways in a narrow window\n}';
    await send(camPage, en, `Try this:\n\n\`\`\`ts\n${code}\n\`\`\`\n\nand plain:\n\n\`\`\`\nno language here <b>bold?</b>\n\`\`\``);

    const article = messageList(diaPage).locator('article', { hasText: 'Try this' });
    await article.waitFor({ timeout: 10_000 });
    const highlighted = article.locator('.code-block[data-language="typescript"] pre code[data-highlighted="true"]');
    await highlighted.waitFor();
    expect(await highlighterLoaded(diaPage)).toBe(true);
    expect(await highlighted.locator('.hljs-keyword').first().textContent()).toBe('const');
    expect(await highlighted.locator('.hljs-string').count()).toBeGreaterThan(0);
    expect(await highlighted.locator('.hljs-comment').count()).toBe(1);
    // The code's text is exactly what was sent; the markup in it made no element.
    expect(await highlighted.textContent()).toBe(code);
    expect(await article.locator('script, b').count()).toBe(0);
    const plainBlock = article.locator('.code-block').nth(1);
    expect(await plainBlock.locator('pre code').textContent()).toBe('no language here <b>bold?</b>');
    expect(await plainBlock.locator('[class^="hljs"]').count()).toBe(0);
    // The fence word shows above the code; the long line scrolls and the block takes the focus.
    expect(await article.locator('.code-block-bar').first().textContent()).toContain('ts');
    expect(await article.locator('pre').first().getAttribute('tabindex')).toBe('0');

    // Colours come from the stylesheet's classes, in each theme.
    const keywordColour = (page: Page) => messageList(page).locator('article', { hasText: 'Try this' }).locator('.hljs-keyword').first().evaluate((element) => getComputedStyle(element).color);
    const camArticle = messageList(camPage).locator('article', { hasText: 'Try this' });
    await camArticle.locator('.hljs-keyword').first().waitFor();
    const light = await keywordColour(camPage);
    const dark = await keywordColour(diaPage);
    expect(light).not.toBe(dark);
    expect(light).not.toBe(await camArticle.locator('pre').first().evaluate((element) => getComputedStyle(element).color));

    // Copy: the block's exact text goes to the clipboard, and the button says so.
    const copy = camArticle.getByRole('button', { name: en.code.copyCode }).first();
    await copy.click();
    await camArticle.getByRole('button', { name: en.code.copied }).waitFor();
    expect(await camPage.evaluate(() => navigator.clipboard.readText())).toBe(code);
    await camArticle.getByRole('button', { name: en.code.copyCode }).first().waitFor({ timeout: 5_000 });

    await article.scrollIntoViewIfNeeded();
    await screenshot(diaPage, 'desktop-dark-fr-code-block');
    await expectAccessible(diaPage, 'code block, dark, French');
    await camArticle.scrollIntoViewIfNeeded();
    await screenshot(camPage, 'desktop-light-en-code-block');
    await expectAccessible(camPage, 'code block, light, English');
    expect(await diaPage.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
  });

  it('[WB60] a streamed answer highlights its code block as it grows', async () => {
    const bot = new ParleyClient({ baseUrl: world.url, token: world.server.assistant.token });
    const turnId = crypto.randomBytes(12).toString('base64url');
    await bot.api.startTurn({ params: { conversationId: groupId }, body: { id: turnId } });
    await bot.api.appendTurnDelta({ params: { conversationId: groupId, turnId }, body: { text: 'Here:\n\n```python\ndef add(a, b):\n' } });
    const streaming = messageList(diaPage).locator(`[data-turn-id="${turnId}"]`);
    await streaming.locator('.code-block[data-language="python"] .hljs-keyword', { hasText: 'def' }).waitFor();
    await bot.api.appendTurnDelta({ params: { conversationId: groupId, turnId }, body: { text: '    return a + b\n```\n' } });
    await streaming.locator('.hljs-keyword', { hasText: 'return' }).waitFor();
    expect(await streaming.locator('pre code').textContent()).toBe('def add(a, b):\n    return a + b');
    await camPage.getByRole('button', { name: en.turn.stop }).click();
    await expect.poll(() => diaPage.locator('[data-turn-id]').count()).toBe(0);
    const stored = messageList(diaPage).locator('article', { hasText: 'return a + b' });
    await stored.locator('.hljs-keyword', { hasText: 'return' }).waitFor();
  });

  it('[WB62] Ctrl+K opens the quick switcher over the composer; it finds a group by part of its name; Enter opens it, Escape closes it', async () => {
    await camPage.getByRole('button', { name: en.sidebar.newAssistant }).click();
    await camPage.waitForURL((url) => !url.pathname.endsWith(groupId));
    const composer = camPage.getByLabel(en.conversation.message, { exact: true });
    await composer.focus();
    await camPage.keyboard.press('Control+k');
    const dialog = camPage.getByRole('dialog', { name: en.switcher.title });
    await dialog.waitFor();
    const field = dialog.getByRole('combobox', { name: en.switcher.search });
    await expect.poll(() => field.evaluate((element) => element === document.activeElement)).toBe(true);
    // Empty: the newest conversations; the assistant chat just made comes first.
    const options = dialog.getByRole('option');
    await expect.poll(() => options.count()).toBe(2);
    expect(await options.first().getAttribute('aria-selected')).toBe('true');
    await screenshot(camPage, 'desktop-light-en-switcher');
    await expectAccessible(camPage, 'quick switcher');

    // Escape closes it and the focus is back in the composer.
    await camPage.keyboard.press('Escape');
    await expect.poll(() => dialog.count()).toBe(0);
    await expect.poll(() => composer.evaluate((element) => element === document.activeElement)).toBe(true);

    // Part of a word, another case: the group; the active option is named by the field.
    await camPage.keyboard.press('Control+k');
    await field.fill('CLU');
    await expect.poll(() => options.allTextContents()).toEqual([expect.stringContaining('Rust club')]);
    const active = await field.getAttribute('aria-activedescendant');
    expect(active).toBe(await options.first().getAttribute('id'));
    await camPage.keyboard.press('Enter');
    await camPage.waitForURL(`${world.url}/c/${groupId}`);
    expect(await dialog.count()).toBe(0);

    // "Find" in the sidebar opens it too; a click beside it closes it.
    await camPage.getByRole('button', { name: en.switcher.open }).click();
    await dialog.waitFor();
    await camPage.getByTestId('switcher-backdrop').click({ position: { x: 5, y: 5 } });
    await expect.poll(() => dialog.count()).toBe(0);
  });

  it('[WB63] the quick switcher finds people: one who shares a group, one only the server knows; opening one makes the direct conversation', async () => {
    await camPage.keyboard.press('Control+k');
    const dialog = camPage.getByRole('dialog', { name: en.switcher.title });
    const field = dialog.getByRole('combobox', { name: en.switcher.search });
    // Accents do not matter: "lefe" finds Dia Lefèvre, a member of the group, under People.
    await field.fill('lefe');
    const person = dialog.getByRole('group', { name: en.switcher.people }).getByRole('option');
    await expect.poll(() => person.allTextContents()).toEqual([expect.stringContaining('Dia Lefèvre')]);
    await camPage.keyboard.press('ArrowDown');
    await camPage.keyboard.press('ArrowUp');
    expect(await person.first().getAttribute('aria-selected')).toBe('true');
    await camPage.keyboard.press('Enter');
    await camPage.getByRole('heading', { name: 'Dia Lefèvre' }).waitFor();
    directId = new URL(camPage.url()).pathname.split('/')[2] ?? '';
    expect(directId).not.toBe(groupId);
    const direct = await camApi.api.getConversation({ params: { conversationId: directId } });
    expect(direct.conversation.kind).toBe('direct');

    // Now the direct conversation is what "dia" finds, not the person a second time.
    await camPage.keyboard.press('Control+k');
    await field.fill('@dia');
    await expect.poll(() => dialog.getByRole('option').allTextContents()).toEqual([expect.stringContaining('Dia Lefèvre')]);
    expect(await dialog.getByRole('option').first().getAttribute('data-conversation-id')).toBe(directId);

    // Eve is in none of Cam's conversations: her exact username is looked up on the server.
    await field.fill(`eve_${suffix}`);
    const eveOption = dialog.getByRole('option', { name: new RegExp(`Ève Durand @eve_${suffix}`) });
    await eveOption.waitFor();
    await expectAccessible(camPage, 'quick switcher with people');
    await camPage.keyboard.press('Enter');
    await camPage.getByRole('heading', { name: 'Ève Durand' }).waitFor();
    const eveList = await eve.api.listConversations();
    expect(eveList.conversations.filter((view) => view.conversation.kind === 'direct')).toHaveLength(1);
  });

  it('[WB65] [WB66] [WB67] a message lets through what the setting allows; the notification opens its conversation; the tab title counts', async () => {
    // Cam is in the direct conversation with Dia: the group is not on screen.
    await camPage.locator(`[data-conversation-id="${directId}"]`).click();
    await camPage.getByRole('heading', { name: 'Dia Lefèvre' }).waitFor();
    await expect.poll(() => camPage.title()).toBe('Parley');
    expect(await notificationsOf(camPage)).toEqual([]);

    await send(diaPage, fr, 'Who brings the **crab**?');
    await expect.poll(() => notificationsOf(camPage)).toEqual([{ title: 'Dia Lefèvre in Rust club', body: 'Who brings the crab?' }]);
    await expect.poll(() => camPage.title()).toBe('(1) Parley');
    // Clicking the notification opens the conversation it is about; it is read, the count goes.
    await camPage.evaluate(() => (window as unknown as { __notifications: { notification: Notification }[] }).__notifications[0]?.notification.dispatchEvent(new Event('click')));
    await camPage.waitForURL(`${world.url}/c/${groupId}`);
    await expect.poll(() => camPage.title()).toBe('Parley');
    // The conversation on screen in a visible tab makes none.
    await send(diaPage, fr, 'I can see you');
    await messageList(camPage).getByText('I can see you').waitFor();
    expect(await notificationsOf(camPage)).toHaveLength(1);

    // Mentions only, from the group panel: saved on the server.
    await camPage.getByRole('button', { name: en.group.details, exact: true }).click();
    const levels = camPage.getByRole('group', { name: en.notify.level.title });
    expect(await levels.getByRole('radio', { name: en.notify.level.all }).isChecked()).toBe(true);
    await levels.getByRole('radio', { name: en.notify.level.mentions }).check();
    await expect.poll(async () => (await camApi.api.getConversation({ params: { conversationId: groupId } })).me.notifications).toBe('mentions');
    await screenshot(camPage, 'desktop-light-en-notification-level');
    await expectAccessible(camPage, 'group panel with the notification setting');
    // Changed on another device: the panel follows.
    await camApi.api.updateMySettings({ params: { conversationId: groupId }, body: { notifications: 'muted' } });
    await expect.poll(() => levels.getByRole('radio', { name: en.notify.level.muted }).isChecked()).toBe(true);
    await levels.getByRole('radio', { name: en.notify.level.mentions }).check();
    await expect.poll(async () => (await camApi.api.getConversation({ params: { conversationId: groupId } })).me.notifications).toBe('mentions');
    await camPage.getByRole('button', { name: en.common.close, exact: true }).click();

    await camPage.locator(`[data-conversation-id="${directId}"]`).click();
    await camPage.getByRole('heading', { name: 'Dia Lefèvre' }).waitFor();
    await send(diaPage, fr, 'Nobody in particular');
    await expect.poll(() => camPage.title()).toBe('(1) Parley');
    await send(diaPage, fr, `@cam_${suffix} you bring it`);
    await expect.poll(() => camPage.title()).toBe('(2) Parley');
    await expect.poll(() => notificationsOf(camPage)).toHaveLength(2);
    expect((await notificationsOf(camPage))[1]).toEqual({ title: 'Dia Lefèvre in Rust club', body: `@cam_${suffix} you bring it` });

    // Muted: nothing, and only its mentions count in the title.
    await camApi.api.updateMySettings({ params: { conversationId: groupId }, body: { notifications: 'muted' } });
    await expect.poll(() => camPage.title()).toBe('(1) Parley');
    await send(diaPage, fr, `@cam_${suffix} still there?`);
    await expect.poll(() => camPage.title()).toBe('(2) Parley');
    await send(diaPage, fr, 'And now?');
    await camPage.locator(`[data-conversation-id="${groupId}"] [data-badge="unread"]`, { hasText: '4' }).waitFor();
    expect(await camPage.title()).toBe('(2) Parley');
    expect(await notificationsOf(camPage)).toHaveLength(2);

    // All messages again, the group on screen but the tab hidden: a notification.
    await camApi.api.updateMySettings({ params: { conversationId: groupId }, body: { notifications: 'all' } });
    await camPage.locator(`[data-conversation-id="${groupId}"]`).click();
    await expect.poll(() => camPage.title()).toBe('Parley');
    await camPage.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await send(diaPage, fr, 'Behind your back');
    await expect.poll(() => notificationsOf(camPage)).toHaveLength(3);
    expect((await notificationsOf(camPage))[2]?.body).toBe('Behind your back');
    await expect.poll(() => camPage.title()).toBe('(1) Parley');
    // Back to the tab: what came meanwhile is read.
    await camPage.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'visible' });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await expect.poll(() => camPage.title()).toBe('Parley');
  });

  it('[WB66] an undecided browser is never asked on load: a banner offers it after a missed message, and asks on a click', async () => {
    // Dia's browser has not been asked, and the page did not ask by itself.
    expect(await diaPage.evaluate(() => Notification.permission)).toBe('default');
    expect(await askedOf(diaPage)).toBe(0);
    expect(await diaPage.getByTestId('notification-offer').count()).toBe(0);
    await diaPage.reload();
    await diaPage.getByRole('navigation', { name: fr.sidebar.label }).waitFor();
    expect(await askedOf(diaPage)).toBe(0);

    // A message in the group while Dia reads the direct conversation.
    await diaPage.locator(`[data-conversation-id="${directId}"]`).click();
    await diaPage.getByRole('heading', { name: 'Cam' }).waitFor();
    await camPage.locator(`[data-conversation-id="${groupId}"]`).click();
    await camPage.getByRole('heading', { name: 'Rust club' }).waitFor();
    await send(camPage, en, 'Anyone there?');
    const offer = diaPage.getByTestId('notification-offer');
    await offer.waitFor();
    expect(await askedOf(diaPage)).toBe(0);
    expect(await notificationsOf(diaPage)).toEqual([]);
    await expect.poll(() => diaPage.title()).toBe('(1) Parley');
    await screenshot(diaPage, 'desktop-dark-fr-notification-offer');
    await expectAccessible(diaPage, 'notification offer, dark, French');
    await offer.getByRole('button', { name: fr.notify.turnOn }).click();
    await expect.poll(() => askedOf(diaPage)).toBe(1);
    await expect.poll(() => offer.count()).toBe(0);

    // Answered either way: it does not come back.
    await send(camPage, en, 'Still nobody?');
    await expect.poll(() => diaPage.title()).toBe('(2) Parley');
    expect(await offer.count()).toBe(0);

    // The settings page says what the browser allows, and follows a grant.
    await diaPage.getByRole('button', { name: fr.settings.open }).click();
    const status = diaPage.getByTestId('notification-status');
    const permission = await diaPage.evaluate(() => Notification.permission);
    expect(await status.textContent()).toBe(fr.notify.status[permission]);
    await dia.grantPermissions(['notifications'], { origin: world.url });
    await diaPage.reload();
    await expect.poll(() => status.textContent()).toBe(fr.notify.status.granted);
    await screenshot(diaPage, 'desktop-dark-fr-settings-notifications');
    await expectAccessible(diaPage, 'settings with notifications, dark, French');
  });

  it('[WB85] a direct conversation has its own Details panel: the other person and the notification setting', async () => {
    await diaPage.locator(`[data-conversation-id="${directId}"]`).click();
    await diaPage.getByRole('heading', { name: 'Cam' }).waitFor();
    await diaPage.getByRole('button', { name: fr.conversation.details, exact: true }).click();
    const panel = diaPage.getByRole('complementary', { name: fr.conversation.details });
    await panel.locator(`[data-person="cam_${suffix}"]`).waitFor();
    const levels = panel.getByRole('group', { name: fr.notify.level.title });
    expect(await levels.getByRole('radio', { name: fr.notify.level.all }).isChecked()).toBe(true);
    await levels.getByRole('radio', { name: fr.notify.level.muted }).check();
    const diaApi = (await ParleyClient.signIn(world.url, { username: `dia_${suffix}`, password })).client;
    await expect.poll(async () => (await diaApi.api.getConversation({ params: { conversationId: directId } })).me.notifications).toBe('muted');
    // No group things in a direct conversation: no rename, no invite links, no leave.
    expect(await panel.getByText(fr.group.inviteLinks).count()).toBe(0);
    await screenshot(diaPage, 'desktop-dark-fr-direct-details');
    await expectAccessible(diaPage, 'direct conversation details');
    // The other person's card opens from the panel.
    await panel.locator(`[data-person="cam_${suffix}"]`).click();
    await diaPage.getByRole('dialog').getByRole('button', { name: fr.person.block }).waitFor();
    await diaPage.keyboard.press('Escape');
    await levels.getByRole('radio', { name: fr.notify.level.all }).check();
    await expect.poll(async () => (await diaApi.api.getConversation({ params: { conversationId: directId } })).me.notifications).toBe('all');
    await panel.getByRole('button', { name: fr.common.close, exact: true }).click();
  });

  it('[WB64] file sizes are written in the person\'s language: 73 o in French, 73 B in English', async () => {
    await diaPage.locator(`[data-conversation-id="${groupId}"]`).click();
    await diaPage.getByRole('heading', { name: 'Rust club' }).waitFor();
    await camPage.locator(`[data-conversation-id="${groupId}"]`).click();
    await camPage.getByTestId('file-input').setInputFiles([{ name: 'list.txt', mimeType: 'text/plain', buffer: Buffer.from('x'.repeat(73)) }]);
    await expect.poll(() => camPage.getByTestId('composer-files').textContent()).toMatch(/73\sB/);
    await send(camPage, en, 'The list');
    const chip = (page: Page) => messageList(page).locator('article', { hasText: 'The list' }).locator('a[data-attachment-id]');
    // Polled: the list may draw the message again (its chip with it) while it settles.
    await expect.poll(async () => ((await chip(diaPage).textContent({ timeout: 2_000 }).catch(() => '')) ?? '').replace(/\s/g, ' ')).toContain('73 o');
    await expect.poll(async () => ((await chip(camPage).textContent({ timeout: 2_000 }).catch(() => '')) ?? '').replace(/\s/g, ' ')).toContain('73 B');
  });

  it('[WB62] [WB22] on a phone, "Find" in the drawer opens the switcher; screenshots in both themes and languages', async () => {
    const phone = await world.browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'fr-FR', colorScheme: 'dark', isMobile: true, hasTouch: true });
    await phone.addCookies(await dia.cookies());
    await allowAxe(phone, world.url);
    const phonePage = await phone.newPage();
    const phoneProblems = watchProblems(phonePage);
    await phonePage.goto(`${world.url}/c/${groupId}`);
    await send(camPage, en, 'On a phone:\n\n```rust\nfn main() {\n    println!("a line long enough to scroll sideways on a phone screen");\n}\n```');
    const article = messageList(phonePage).locator('article', { hasText: 'On a phone' });
    await article.locator('.hljs-keyword').first().waitFor();
    await article.scrollIntoViewIfNeeded();
    await screenshot(phonePage, 'phone-dark-fr-code-block');
    await expectAccessible(phonePage, 'phone code block, dark, French');
    await phonePage.getByRole('button', { name: fr.shell.openMenu }).click();
    await phonePage.getByRole('button', { name: fr.switcher.open }).click();
    const dialog = phonePage.getByRole('dialog', { name: fr.switcher.title });
    await dialog.getByRole('combobox', { name: fr.switcher.search }).fill('cam');
    await dialog.getByRole('option').first().waitFor();
    // The drawer made way for the dialog: wholly off screen, not halfway through its slide.
    const sidebar = phonePage.getByTestId('sidebar');
    const offScreen = async () => { const box = await sidebar.boundingBox(); return box ? box.x + box.width : 1; };
    await expect.poll(offScreen).toBeLessThanOrEqual(0);
    await screenshot(phonePage, 'phone-dark-fr-switcher');
    await expectAccessible(phonePage, 'phone switcher, dark, French');
    await phonePage.keyboard.press('Escape');
    await expect.poll(() => dialog.count()).toBe(0);
    await phonePage.getByRole('button', { name: fr.shell.openMenu }).click();
    await phonePage.getByLabel(fr.prefs.theme).selectOption('light');
    await phonePage.getByLabel(fr.prefs.language).selectOption('en');
    await phonePage.keyboard.press('Control+k');
    await phonePage.getByRole('dialog', { name: en.switcher.title }).getByRole('option').first().waitFor();
    await expect.poll(offScreen).toBeLessThanOrEqual(0);
    await screenshot(phonePage, 'phone-light-en-switcher');
    await expectAccessible(phonePage, 'phone switcher, light, English');
    expect(phoneProblems).toEqual([]);
    await phone.close();
  });

  it('no script error and no Content-Security-Policy refusal in either tab', () => {
    expect(camProblems).toEqual([]);
    expect(diaProblems).toEqual([]);
  });
});
