import crypto from 'node:crypto';
import fs from 'node:fs';
import { ParleyClient } from '@parley/sdk';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { en } from '../src/i18n/en.js';
import { fr } from '../src/i18n/fr.js';
import { allowAxe, CHROMIUM, inListView, messageList, password, screenshot, send, seriousViolations, signUp, startWorld, watchProblems, type World } from './browser.js';

const suffix = crypto.randomBytes(3).toString('hex');

describe.skipIf(!fs.existsSync(CHROMIUM))('two people in the browser', { timeout: 90_000 }, () => {
  let world: World;
  /** No serious or critical accessibility violation on the screen as it is [WB30]. */
  const expectAccessible = async (page: Page, screen: string) => {
    expect(await seriousViolations(page, world.url), screen).toEqual([]);
  };
  let ann: BrowserContext;
  let bea: BrowserContext;
  let annPage: Page;
  let beaPage: Page;
  let annProblems: string[];
  let beaProblems: string[];
  let groupId = '';

  beforeAll(async () => {
    world = await startWorld();
    ann = await world.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', colorScheme: 'light' });
    // Bea's browser speaks French: the client follows it [WB20].
    bea = await world.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'fr-FR', colorScheme: 'dark' });
    ann.setDefaultTimeout(10_000);
    bea.setDefaultTimeout(10_000);
    annPage = await ann.newPage();
    beaPage = await bea.newPage();
    annProblems = watchProblems(annPage);
    beaProblems = watchProblems(beaPage);
    await allowAxe(ann, world.url);
    await allowAxe(bea, world.url);
  }, 120_000);
  afterAll(async () => {
    await world?.close();
  });

  it('[WB1] [WB4] [WB16] [WB18] Ann signs up, creates a group and makes an invite link', async () => {
    const response = await annPage.goto(`${world.url}/`);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await annPage.getByRole('button', { name: en.auth.signIn, exact: true }).waitFor();
    await screenshot(annPage, 'desktop-light-en-sign-in');
    await expectAccessible(annPage, 'sign-in');
    await signUp(annPage, en, `ann_${suffix}`, 'Ann');
    // The session is the httpOnly cookie: the page cannot read it.
    expect(await annPage.evaluate(() => document.cookie)).toBe('');

    await annPage.getByRole('button', { name: en.sidebar.newGroup }).click();
    await annPage.getByPlaceholder(en.group.namePlaceholder).fill('Weekend trip');
    await annPage.getByRole('button', { name: en.common.create }).click();
    await annPage.getByRole('heading', { name: 'Weekend trip' }).waitFor();
    groupId = new URL(annPage.url()).pathname.split('/')[2] ?? '';
    expect(groupId).not.toBe('');

    await annPage.getByRole('button', { name: en.group.details, exact: true }).click();
    await annPage.getByRole('button', { name: en.group.createInvite }).click();
    const link = await annPage.getByTestId('invite-link').inputValue();
    expect(link).toMatch(new RegExp(`^${world.url}/invite/[A-Za-z0-9_-]{16,}$`));
    await ann.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: world.url });
    await annPage.getByRole('button', { name: en.group.copy, exact: true }).click();
    await annPage.getByRole('button', { name: en.group.copied, exact: true }).waitFor();
    expect(await annPage.evaluate(() => navigator.clipboard.readText())).toBe(link);
    await screenshot(annPage, 'desktop-light-en-group-panel');
    await expectAccessible(annPage, 'group panel');
    await annPage.getByRole('button', { name: en.common.close, exact: true }).click();

    // [WB19]: signed out, the link asks to sign in first, then shows the invite.
    await beaPage.goto(link);
    await beaPage.getByText(fr.auth.inviteNotice).waitFor();
    await signUp(beaPage, fr, `bea_${suffix}`, 'Béa');
    await beaPage.getByRole('heading', { name: 'Weekend trip' }).waitFor();
    await expect.poll(() => beaPage.getByText(fr.invite.invited).isVisible()).toBe(true);
    await screenshot(beaPage, 'desktop-dark-fr-invite');
    await expectAccessible(beaPage, 'invite');
    await beaPage.getByRole('button', { name: fr.invite.join }).click();
    await beaPage.waitForURL(`${world.url}/c/${groupId}`);
    await beaPage.getByRole('heading', { name: 'Weekend trip' }).waitFor();
  });

  it('[WB8] [WB19] [WB11] a message of Ann reaches Bea live in the tab that joined by invite; her reply reaches Ann', async () => {
    await send(annPage, en, 'Hello **Bea**, where shall we go?');
    await messageList(beaPage).getByText('where shall we go?').waitFor({ timeout: 10_000 });
    await expect.poll(() => messageList(beaPage).locator('strong', { hasText: 'Bea' }).count()).toBe(1);

    await send(beaPage, fr, 'Salut Ann ! The mountains?');
    await messageList(annPage).getByText('The mountains?').waitFor({ timeout: 10_000 });
    // Confirmed by the server's event: no copy left pending on Bea's side, one message on Ann's.
    await expect.poll(() => beaPage.locator('[data-pending-id]').count()).toBe(0);
    expect(await messageList(annPage).getByText('The mountains?').count()).toBe(1);
  });

  it('[WB34] [WB35] an image and a file with a hostile name, attached by the picker, reach Bea; the lightbox opens and closes by keyboard', async () => {
    // A 2×2 PNG, and a text file whose name is markup.
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGNQaDgARAwQCgAkDgWBfAdHdAAAAABJRU5ErkJggg==', 'base64');
    const hostile = '<img src=x onerror=alert(1)>.txt';
    await annPage.getByTestId('file-input').setInputFiles([
      { name: 'harbour.png', mimeType: 'image/png', buffer: png },
      { name: hostile, mimeType: 'text/plain', buffer: Buffer.from('notes for the trip') },
    ]);
    await annPage.getByTestId('composer-files').getByText('harbour.png').waitFor();
    await expect.poll(() => annPage.getByTestId('composer-files').getByText(en.attachment.uploading).count()).toBe(0);
    await send(annPage, en, 'Photo of the harbour');

    const message = messageList(beaPage).locator('[data-testid="attachments"]').last();
    await messageList(beaPage).getByText('Photo of the harbour').waitFor();
    const thumbnail = message.locator('button[data-attachment-id]');
    await expect.poll(() => thumbnail.locator('img').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(2);
    // The hostile name is text: no element made of it, nothing ran.
    await message.getByText(hostile).waitFor();
    expect(await beaPage.locator('img[src="x"]').count()).toBe(0);

    await thumbnail.focus();
    await beaPage.keyboard.press('Enter');
    const dialog = beaPage.getByRole('dialog', { name: 'harbour.png' });
    await dialog.waitFor();
    await screenshot(beaPage, 'desktop-dark-fr-lightbox');
    await expectAccessible(beaPage, 'lightbox');
    await beaPage.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await thumbnail.evaluate((element) => element === document.activeElement)).toBe(true);
    await screenshot(beaPage, 'desktop-dark-fr-attachments');
  });

  it('[WB10] markdown with a <script> and a javascript: link renders inert', async () => {
    await send(annPage, en, 'Look <script>window.pwned = 1</script> [click me](javascript:window.pwned=2) <img src=x onerror="window.pwned=3"> and [the map](https://example.com/map)');
    const article = messageList(beaPage).locator('article', { hasText: 'Look' });
    await article.waitFor({ timeout: 10_000 });
    await article.getByRole('link', { name: 'the map' }).waitFor();
    const map = article.getByRole('link', { name: 'the map' });
    expect(await map.getAttribute('target')).toBe('_blank');
    expect(await map.getAttribute('rel')).toContain('noopener');
    expect(await article.locator('script, img, iframe').count()).toBe(0);
    const click = article.getByText('click me');
    const href = await click.evaluate((element) => element.closest('a')?.getAttribute('href') ?? null);
    expect(href ?? '').not.toMatch(/javascript:/i);
    await click.click();
    expect(await beaPage.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(await annPage.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
  });

  it('[WB6] [WB7] unread counts and mention badges grow live and clear on opening', async () => {
    // Ann looks elsewhere (a chat with the assistant); Bea mentions her in the group.
    await annPage.getByRole('button', { name: en.sidebar.newAssistant }).click();
    await annPage.waitForURL((url) => !url.pathname.endsWith(groupId));
    await send(beaPage, fr, `@ann_${suffix} tu viens ?`);
    await send(beaPage, fr, 'Et on réserve quoi ?');
    const row = annPage.locator(`[data-conversation-id="${groupId}"]`);
    await expect.poll(() => row.locator('[data-badge="unread"]').textContent(), { timeout: 10_000 }).toBe('2');
    await expect.poll(() => row.locator('[data-badge="mentions"]').textContent()).toBe('@1');
    // Newest activity first: the group moved above the newer but quieter assistant chat? Groups are their own section.
    await annPage.getByRole('region', { name: en.sidebar.groups }).waitFor();
    await expectAccessible(annPage, 'assistant chat with badges in the sidebar');
    await row.click();
    await expect.poll(() => row.locator('[data-badge]').count()).toBe(0);
    await messageList(annPage).getByText('Et on réserve quoi ?').waitFor();
  });

  it('[WB26] [WB28] a "new messages" divider stands before the first unread message; the other sees who read it', async () => {
    const divider = messageList(annPage).getByTestId('new-messages');
    await divider.waitFor();
    expect(await divider.textContent()).toBe(en.conversation.newMessages);
    // In the list's order: what Ann had read, the divider, then Bea's two new messages.
    const order = await messageList(annPage).evaluate((list) =>
      [...list.querySelectorAll('article, [data-testid="new-messages"]')].map((node) => (node.matches('article') ? (node.textContent ?? '') : '--divider--')),
    );
    const at = order.indexOf('--divider--');
    expect(order[at + 1]).toContain('tu viens ?');
    expect(order[at - 1]).toContain('the map');
    // Bea had the group open while those came: nothing was unread when she opened it, no divider.
    expect(await messageList(beaPage).getByTestId('new-messages').count()).toBe(0);
    // Ann's read marker moved to the end: under Bea's last message, Bea sees Ann's avatar.
    const seen = messageList(beaPage).locator('article', { hasText: 'Et on réserve quoi ?' }).getByTestId('seen-by');
    await expect.poll(() => seen.getAttribute('aria-label'), { timeout: 10_000 }).toBe(fr.message.seenBy.replace('{{names}}', 'Ann'));
    expect(await messageList(beaPage).getByTestId('seen-by').count()).toBe(1);
    await screenshot(annPage, 'desktop-light-en-new-messages');
    await expectAccessible(annPage, 'conversation with the new-messages divider');
    // Opened again later, it holds no unread message: no divider.
    await annPage.getByRole('button', { name: en.sidebar.newAssistant }).click();
    await annPage.waitForURL((url) => !url.pathname.endsWith(groupId));
    await annPage.locator(`[data-conversation-id="${groupId}"]`).click();
    await messageList(annPage).getByText('Et on réserve quoi ?').waitFor();
    expect(await divider.count()).toBe(0);
  });

  it('[WB13] [WB14] reactions, edit and delete of her own message, seen live by the other', async () => {
    const annArticle = messageList(annPage).locator('article', { hasText: 'Et on réserve quoi ?' });
    await annArticle.hover();
    await annArticle.getByRole('button', { name: en.message.react }).click();
    await annArticle.getByRole('button', { name: en.message.reactWith.replace('{{emoji}}', '🎉') }).click();
    const beaArticle = messageList(beaPage).locator('article', { hasText: 'Et on réserve quoi ?' });
    await beaArticle.getByRole('button', { name: '🎉 1' }).waitFor({ timeout: 10_000 });

    const edited = messageList(beaPage).locator(`[data-message-id="${await beaArticle.getAttribute('data-message-id')}"]`);
    await edited.hover();
    await edited.getByRole('button', { name: fr.message.edit }).click();
    await edited.getByLabel(fr.message.edit).fill('Et on réserve quel chalet ?');
    await edited.getByRole('button', { name: fr.common.save }).click();
    await messageList(annPage).getByText('Et on réserve quel chalet ?').waitFor({ timeout: 10_000 });
    await messageList(annPage).locator('article', { hasText: 'Et on réserve quel chalet ?' }).getByText(en.message.edited).waitFor();

    beaPage.once('dialog', (dialog) => void dialog.accept());
    const toDelete = messageList(beaPage).locator('article', { hasText: 'tu viens ?' });
    await toDelete.hover();
    await toDelete.getByRole('button', { name: fr.message.delete }).click();
    await messageList(annPage).getByText(en.message.deleted).waitFor({ timeout: 10_000 });
    expect(await messageList(annPage).getByText('tu viens ?').count()).toBe(0);
  });

  it('[WB27] a reply quotes its original; clicking the quote goes to it', async () => {
    const original = messageList(beaPage).locator('article', { hasText: 'where shall we go?' });
    await original.hover();
    await original.getByRole('button', { name: fr.reply.reply, exact: true }).click();
    await beaPage.getByTestId('replying-to').getByText(fr.reply.replyingTo.replace('{{name}}', 'Ann')).waitFor();
    // Escape cancels a reply; Reply again and send.
    await beaPage.keyboard.press('Escape');
    expect(await beaPage.getByTestId('replying-to').count()).toBe(0);
    await original.hover();
    await original.getByRole('button', { name: fr.reply.reply, exact: true }).click();
    await send(beaPage, fr, 'Les Alpes, évidemment');
    const reply = messageList(annPage).locator('article', { hasText: 'Les Alpes, évidemment' });
    const quote = reply.getByTestId('reply-quote');
    await quote.waitFor({ timeout: 10_000 });
    expect(await quote.textContent()).toContain('Ann');
    expect(await quote.textContent()).toContain('Hello Bea, where shall we go?');
    await quote.click();
    const target = messageList(annPage).locator('article[data-highlighted]');
    await expect.poll(() => target.textContent()).toContain('where shall we go?');
    expect(await beaPage.getByTestId('replying-to').count()).toBe(0);
    await screenshot(annPage, 'desktop-light-en-reply');
  });

  it('[WB27] the quote of a reply to a message beyond the loaded pages loads them and scrolls to it', async () => {
    const annApi = (await ParleyClient.signIn(world.url, { username: `ann_${suffix}`, password })).client;
    const created = await annApi.api.createConversation({ body: { kind: 'group', title: 'Long history' } });
    const longId = created.conversation.id;
    // The assistant's account is not held to the flood limit: it writes the history.
    const bot = new ParleyClient({ baseUrl: world.url, token: world.server.assistant.token });
    const write = (text: string, replyToId?: string) =>
      bot.api.sendMessage({ params: { conversationId: longId }, body: { id: crypto.randomBytes(12).toString('base64url'), text, ...(replyToId ? { replyToId } : {}) } });
    const first = await write('The very first plan: a cabin by the lake');
    for (let index = 0; index < 130; index += 1) await write(`filler ${index}`);
    await write('Back to the cabin idea', first.id);
    await annPage.locator(`[data-conversation-id="${longId}"]`).click();
    try {
      await farReply(first.id);
      // Far up the history, a message of one's own brings the list back to the bottom to show it [WB9].
      await send(annPage, en, 'Booked the cabin for June');
      const mine = messageList(annPage).locator('article', { hasText: 'Booked the cabin for June' });
      await expect.poll(() => inListView(mine), { timeout: 5000 }).toBe(true);
    } finally {
      await annPage.locator(`[data-conversation-id="${groupId}"]`).click();
      await messageList(annPage).getByText('Les Alpes, évidemment').waitFor();
    }
  });

  async function farReply(firstId: string): Promise<void> {
    const reply = messageList(annPage).locator('article', { hasText: 'Back to the cabin idea' });
    const quote = reply.getByTestId('reply-quote');
    await quote.waitFor({ timeout: 10_000 });
    // Not loaded yet: the quote says so, and the original is not in the page.
    expect(await quote.textContent()).toBe(en.reply.earlier);
    await quote.click();
    const original = messageList(annPage).locator(`[data-message-id="${firstId}"]`);
    await original.waitFor({ timeout: 10_000 });
    await expect.poll(() => original.getAttribute('data-highlighted')).toBe('true');
    await expect.poll(() => original.isVisible()).toBe(true);
    const box = await original.boundingBox();
    const list = await messageList(annPage).boundingBox();
    expect(box && list && box.y >= list.y && box.y + box.height <= list.y + list.height).toBe(true);
  }

  it('[WB24] typing @ offers the members and the assistant; arrows, Enter, Tab and Escape; mentions show as chips, not in code', async () => {
    const composer = annPage.getByRole('combobox', { name: en.conversation.message });
    await composer.fill('');
    await composer.pressSequentially('Hi @');
    const list = annPage.getByRole('listbox', { name: en.mention.list });
    await list.waitFor();
    expect(await composer.getAttribute('aria-expanded')).toBe('true');
    const options = list.getByRole('option');
    // People first, then the assistant by its current name.
    const texts = await options.allTextContents();
    expect(texts).toHaveLength(2);
    expect(texts[0]).toContain(`Béa@bea_${suffix}`);
    expect(texts[1]).toContain('Parley@Parley');
    await expectAccessible(annPage, 'mention list');
    await screenshot(annPage, 'desktop-light-en-mentions');
    // The first is chosen; the down arrow moves to the assistant; the active one is announced.
    expect(await options.first().getAttribute('aria-selected')).toBe('true');
    await annPage.keyboard.press('ArrowDown');
    expect(await options.nth(1).getAttribute('aria-selected')).toBe('true');
    expect(await composer.getAttribute('aria-activedescendant')).toBe(await options.nth(1).getAttribute('id'));
    await annPage.keyboard.press('ArrowDown');
    expect(await options.first().getAttribute('aria-selected')).toBe('true');
    await annPage.keyboard.press('Enter');
    await expect.poll(() => composer.inputValue()).toBe(`Hi @bea_${suffix} `);
    expect(await list.count()).toBe(0);
    // Escape closes the list and keeps what was typed; Tab picks.
    await composer.pressSequentially('and @Par');
    await list.waitFor();
    await annPage.keyboard.press('Escape');
    expect(await list.count()).toBe(0);
    expect(await composer.inputValue()).toBe(`Hi @bea_${suffix} and @Par`);
    await composer.pressSequentially(' or @par');
    await list.waitFor();
    await annPage.keyboard.press('Tab');
    await expect.poll(() => composer.inputValue()).toBe(`Hi @bea_${suffix} and @Par or @Parley `);
    await composer.pressSequentially(`but not \`@bea_${suffix}\``);
    await annPage.keyboard.press('Enter');
    const sent = messageList(beaPage).locator('article', { hasText: 'but not' });
    await sent.waitFor({ timeout: 10_000 });
    // Chips for Béa and the assistant by its name; the code span is code (and notifies nobody).
    await expect.poll(() => sent.locator('.mention').allTextContents()).toEqual([`@bea_${suffix}`, '@Parley']);
    expect(await sent.locator('code').textContent()).toBe(`@bea_${suffix}`);
    expect(await sent.locator('code .mention').count()).toBe(0);
  });

  it('[WB25] the up arrow in an empty composer edits the last own message; Escape cancels, Enter saves', async () => {
    const composer = annPage.getByRole('combobox', { name: en.conversation.message });
    await composer.fill('');
    await composer.focus();
    await annPage.keyboard.press('ArrowUp');
    const editor = messageList(annPage).getByLabel(en.message.edit, { exact: true });
    await editor.waitFor();
    expect(await editor.evaluate((element) => element === document.activeElement)).toBe(true);
    expect(await editor.inputValue()).toContain('but not');
    await annPage.keyboard.press('Escape');
    expect(await editor.count()).toBe(0);
    expect(await composer.evaluate((element) => element === document.activeElement)).toBe(true);
    // Not empty: the up arrow moves in the text, it edits nothing.
    await composer.fill('draft');
    await annPage.keyboard.press('ArrowUp');
    expect(await editor.count()).toBe(0);
    await composer.fill('');
    await annPage.keyboard.press('ArrowUp');
    await editor.waitFor();
    await editor.fill('Edited with the up arrow');
    await annPage.keyboard.press('Enter');
    await messageList(beaPage).getByText('Edited with the up arrow').waitFor({ timeout: 10_000 });
    await expect.poll(() => editor.count()).toBe(0);
  });

  it('[WB29] the emoji picker searches every emoji by name with data this server ships; no other origin is asked', async () => {
    const elsewhere: string[] = [];
    const onRequest = (request: { url: () => string }) => {
      if (!request.url().startsWith(world.url) && !request.url().startsWith('data:') && !request.url().startsWith('blob:')) elsewhere.push(request.url());
    };
    beaPage.on('request', onRequest);
    const data = await fetch(`${world.url}/emojibase/fr/data.json`);
    expect(data.status).toBe(200);
    expect(((await data.json()) as unknown[]).length).toBeGreaterThan(1000);

    const article = messageList(beaPage).locator('article', { hasText: 'Edited with the up arrow' });
    await article.hover();
    await article.getByRole('button', { name: fr.message.react }).click();
    await article.getByRole('button', { name: fr.emoji.more }).click();
    const dialog = beaPage.getByRole('dialog', { name: fr.emoji.title });
    await dialog.waitFor();
    await dialog.getByRole('gridcell').first().waitFor({ timeout: 15_000 });
    await expectAccessible(beaPage, 'emoji picker');
    await screenshot(beaPage, 'desktop-dark-fr-emoji-picker');
    // Escape closes it.
    await beaPage.keyboard.press('Escape');
    expect(await dialog.count()).toBe(0);
    await article.hover();
    await article.getByRole('button', { name: fr.message.react }).click();
    await article.getByRole('button', { name: fr.emoji.more }).click();
    // French names, from the French data.
    await dialog.getByLabel(fr.emoji.search).fill('fusée');
    await dialog.getByRole('gridcell', { name: /^fusée$/i }).click();
    expect(await dialog.count()).toBe(0);
    await messageList(annPage).locator('article', { hasText: 'Edited with the up arrow' }).getByRole('button', { name: '🚀 1' }).waitFor({ timeout: 10_000 });
    beaPage.off('request', onRequest);
    expect(elsewhere).toEqual([]);
  });

  it('[WB23] typing shows to the other member', async () => {
    await beaPage.getByLabel(fr.conversation.message, { exact: true }).fill('Je réfléchis');
    await expect.poll(() => annPage.getByTestId('typing').textContent(), { timeout: 10_000 }).toContain('Béa');
    await beaPage.getByLabel(fr.conversation.message, { exact: true }).fill('');
  });

  it('[WB12] the assistant answer streams token by token, and Stop ends it', async () => {
    const bot = new ParleyClient({ baseUrl: world.url, token: world.server.assistant.token });
    const turnId = crypto.randomBytes(12).toString('base64url');
    await bot.api.startTurn({ params: { conversationId: groupId }, body: { id: turnId } });
    await bot.api.appendTurnDelta({ params: { conversationId: groupId, turnId }, body: { text: 'Chamonix is ' } });
    const streaming = messageList(beaPage).locator(`[data-turn-id="${turnId}"]`);
    await streaming.getByText('Chamonix is').waitFor({ timeout: 10_000 });
    await bot.api.appendTurnDelta({ params: { conversationId: groupId, turnId }, body: { text: 'lovely in **winter**' } });
    await streaming.locator('strong', { hasText: 'winter' }).waitFor();
    await screenshot(beaPage, 'desktop-dark-fr-streaming');
    // On a phone, Stop and Send are icons beside the field, whose placeholder still fits.
    const phone = await world.browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'fr-FR', colorScheme: 'dark', isMobile: true, hasTouch: true });
    await phone.addCookies(await bea.cookies());
    const phonePage = await phone.newPage();
    await phonePage.goto(`${world.url}/c/${groupId}`);
    await messageList(phonePage).locator(`[data-turn-id="${turnId}"]`).locator('strong', { hasText: 'winter' }).waitFor({ timeout: 10_000 });
    const stop = phonePage.getByRole('button', { name: fr.turn.stop });
    await stop.waitFor();
    const field = phonePage.getByLabel(fr.conversation.message, { exact: true });
    expect(await field.evaluate((element) => (element as HTMLTextAreaElement).clientWidth)).toBeGreaterThanOrEqual(180);
    await screenshot(phonePage, 'phone-dark-fr-streaming');
    await phone.close();
    await annPage.getByRole('button', { name: en.turn.stop }).click();
    const stopped = messageList(beaPage).locator('article', { hasText: 'Chamonix is lovely in winter' });
    await stopped.getByText(fr.turn.stopped).waitFor({ timeout: 10_000 });
    await expect.poll(() => beaPage.locator('[data-turn-id]').count()).toBe(0);
    await expect.poll(() => beaPage.getByRole('button', { name: fr.turn.stop }).count()).toBe(0);
  });

  it('[WB11] [WB15] offline: the send fails and stays with Retry; back online, the banner goes, Retry sends it once', async () => {
    await bea.setOffline(true);
    // A reply: the failed copy shows what it answers, and the retry keeps it [WB27].
    const answered = messageList(beaPage).locator('article', { hasText: 'Chamonix is lovely in winter' });
    await answered.hover();
    await answered.getByRole('button', { name: fr.reply.reply, exact: true }).click();
    await send(beaPage, fr, 'Envoyé hors ligne');
    const failed = beaPage.locator('[data-pending-id][data-status="failed"]');
    await failed.waitFor({ timeout: 10_000 });
    expect(await failed.getByTestId('reply-quote').textContent()).toContain('Chamonix is lovely in winter');
    const id = await failed.getAttribute('data-pending-id');
    await beaPage.getByTestId('connection-banner').waitFor();
    // Reconnect while still offline cannot succeed: the banner stays.
    await beaPage.getByTestId('connection-banner').getByRole('button', { name: fr.connection.reconnect }).click();
    await screenshot(beaPage, 'desktop-dark-fr-offline');
    expect(await beaPage.getByTestId('connection-banner').count()).toBe(1);
    await bea.setOffline(false);
    await expect.poll(() => beaPage.getByTestId('connection-banner').count(), { timeout: 20_000 }).toBe(0);
    // Meanwhile Ann wrote: the resumed stream brings it.
    await send(annPage, en, 'Are you there?');
    await messageList(beaPage).getByText('Are you there?').waitFor({ timeout: 10_000 });
    await failed.getByRole('button', { name: fr.message.retry }).click();
    await messageList(annPage).getByText('Envoyé hors ligne').waitFor({ timeout: 10_000 });
    expect(await beaPage.locator(`[data-message-id="${id}"]`).count()).toBe(1);
    expect(await messageList(annPage).getByText('Envoyé hors ligne').count()).toBe(1);
    expect(await messageList(annPage).locator('article', { hasText: 'Envoyé hors ligne' }).getByTestId('reply-quote').textContent()).toContain('Chamonix is lovely');
  });

  it('[WB16] [WB17] [WB18] rename, add by username and revoke in the group panel, seen live by the other', async () => {
    const cid = await ParleyClient.signUp(world.url, { username: `cid_${suffix}`, password, displayName: 'Cid' });
    await annPage.getByRole('button', { name: en.group.details, exact: true }).click();
    const panel = annPage.getByRole('complementary', { name: en.group.details });
    await panel.getByLabel(en.group.name, { exact: true }).fill('Weekend in Chamonix');
    await panel.getByRole('button', { name: en.group.rename }).click();
    await beaPage.getByRole('heading', { name: 'Weekend in Chamonix' }).waitFor();

    await panel.getByLabel(en.group.addByUsername).fill(`@cid_${suffix}`);
    await panel.getByRole('button', { name: en.group.add, exact: true }).click();
    await panel.getByText(`@cid_${suffix}`).waitFor();
    await beaPage.getByText(fr.group.memberCount_other.replace('{{count}}', '3')).waitFor();
    const cidList = await cid.client.api.listConversations();
    expect(cidList.conversations.map((view) => view.conversation.title)).toContain('Weekend in Chamonix');

    // A second invite; one revoked leaves the list and is revoked on the server.
    const invites = panel.locator('[data-invite-id]');
    await invites.first().waitFor();
    await panel.getByRole('button', { name: en.group.createInvite }).click();
    await expect.poll(() => invites.count()).toBe(2);
    const count = await invites.count();
    const invite = (await cid.client.api.listInvites({ params: { conversationId: groupId } })).invites.find((item) => item.revokedAt === null);
    expect(invite).toBeDefined();
    await invites.first().getByRole('button', { name: en.group.revoke }).click();
    await expect.poll(() => invites.count()).toBe(count - 1);
    const after = await cid.client.api.listInvites({ params: { conversationId: groupId } });
    expect(after.invites.filter((item) => item.revokedAt === null)).toHaveLength(count - 1);
    await panel.getByRole('button', { name: en.common.close, exact: true }).click();
  });

  it('[WB20] [WB21] [WB22] screenshots: desktop and phone, light and dark, English and French', async () => {
    await annPage.bringToFront();
    await screenshot(annPage, 'desktop-light-en-conversation');
    await beaPage.getByLabel(fr.prefs.theme).selectOption('light');
    await expect.poll(() => beaPage.evaluate(() => document.documentElement.classList.contains('dark'))).toBe(false);
    await screenshot(beaPage, 'desktop-light-fr-conversation');
    await beaPage.getByLabel(fr.prefs.theme).selectOption('dark');
    await screenshot(beaPage, 'desktop-dark-fr-conversation');
    await expectAccessible(beaPage, 'conversation, dark, French');
    await annPage.getByLabel(en.prefs.language).selectOption('fr');
    await annPage.getByRole('button', { name: fr.auth.signOut }).waitFor();
    await annPage.getByLabel(fr.prefs.language).selectOption('en');
    await annPage.getByRole('button', { name: en.auth.signOut }).waitFor();

    const phone = await world.browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'en-US', colorScheme: 'light', isMobile: true, hasTouch: true });
    await phone.addCookies(await ann.cookies());
    const phonePage = await phone.newPage();
    const phoneProblems = watchProblems(phonePage);
    await phonePage.goto(`${world.url}/c/${groupId}`);
    await messageList(phonePage).getByText('Envoyé hors ligne').waitFor({ timeout: 10_000 });
    // The sidebar is a drawer: off screen until the menu opens it.
    const sidebar = phonePage.getByTestId('sidebar');
    // Wholly off screen, not halfway through its slide.
    await expect.poll(async () => { const box = await sidebar.boundingBox(); return box ? box.x + box.width : 1; }).toBeLessThanOrEqual(0);
    await screenshot(phonePage, 'phone-light-en-conversation');
    await allowAxe(phone, world.url);
    await expectAccessible(phonePage, 'phone conversation');
    await phonePage.getByRole('button', { name: en.shell.openMenu }).click();
    await expect.poll(async () => (await sidebar.boundingBox())?.x ?? -1).toBe(0);
    await screenshot(phonePage, 'phone-light-en-drawer');
    await expectAccessible(phonePage, 'phone drawer');
    await phonePage.getByLabel(en.prefs.theme).selectOption('dark');
    await phonePage.getByLabel(en.prefs.language).selectOption('fr');
    await phonePage.locator(`[data-conversation-id="${groupId}"]`).click();
    // Wholly off screen, not halfway through its slide.
    await expect.poll(async () => { const box = await sidebar.boundingBox(); return box ? box.x + box.width : 1; }).toBeLessThanOrEqual(0);
    await screenshot(phonePage, 'phone-dark-fr-conversation');
    await phonePage.getByRole('button', { name: fr.group.details, exact: true }).click();
    await phonePage.locator('[data-invite-id]').first().waitFor();
    // Dates in the person's language: French day, month, year, not the American month first.
    expect(await phonePage.locator('[data-invite-id]').first().textContent()).toMatch(/expire le \d{1,2} \p{L}+\.? \d{4}/u);
    await screenshot(phonePage, 'phone-dark-fr-group-panel');
    await expectAccessible(phonePage, 'phone group panel, dark, French');
    const signedOut = await world.browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'fr-FR', colorScheme: 'dark', isMobile: true });
    const signInPage = await signedOut.newPage();
    await signInPage.goto(`${world.url}/`);
    await signInPage.getByRole('button', { name: fr.auth.signIn, exact: true }).waitFor();
    await screenshot(signInPage, 'phone-dark-fr-sign-in');
    await allowAxe(signedOut, world.url);
    await expectAccessible(signInPage, 'phone sign-in, dark, French');
    expect(phoneProblems).toEqual([]);
    await phone.close();
    await signedOut.close();
  });

  it('[WB6] [WB8] a direct message started by username appears live in the sidebar of the other person', async () => {
    await beaPage.getByRole('button', { name: fr.sidebar.newDirectShort, exact: true }).click();
    await beaPage.getByPlaceholder(fr.sidebar.usernamePlaceholder).fill(`ann_${suffix}`);
    await beaPage.getByRole('button', { name: fr.common.create }).click();
    await beaPage.getByRole('heading', { name: 'Ann' }).waitFor();
    await send(beaPage, fr, 'Un mot en privé');
    const direct = annPage.getByRole('region', { name: en.sidebar.direct });
    await direct.getByText('Béa', { exact: true }).waitFor({ timeout: 10_000 });
    await direct.locator('[data-badge="unread"]', { hasText: '1' }).waitFor();
    await direct.getByText('Béa', { exact: true }).click();
    await messageList(annPage).getByText('Un mot en privé').waitFor();
  });

  it('[WB34] in the direct conversation, a file dropped on it and an image pasted in the composer are attached and sent', async () => {
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGNQaDgARAwQCgAkDgWBfAdHdAAAAABJRU5ErkJggg==';
    // A drag that carries files shows where they go; the drop attaches them.
    const dropped = await annPage.evaluateHandle(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(['packing list: boots, maps'], 'packing.txt', { type: 'text/plain' }));
      return transfer;
    });
    const list = messageList(annPage);
    await list.dispatchEvent('dragenter', { dataTransfer: dropped });
    await annPage.getByTestId('drop-zone').waitFor();
    await list.dispatchEvent('dragover', { dataTransfer: dropped });
    await list.dispatchEvent('drop', { dataTransfer: dropped });
    await annPage.getByTestId('drop-zone').waitFor({ state: 'detached' });
    await annPage.getByTestId('composer-files').getByText('packing.txt').waitFor();
    // An image pasted in the composer (a screenshot from the clipboard) joins it.
    await annPage.getByLabel(en.conversation.message, { exact: true }).evaluate((composer, base64) => {
      const bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], 'pasted.png', { type: 'image/png' }));
      composer.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }));
    }, png);
    await annPage.getByTestId('composer-files').getByText('pasted.png').waitFor();
    await expect.poll(() => annPage.getByTestId('composer-files').getByText(en.attachment.uploading).count()).toBe(0);
    await send(annPage, en, 'Dropped and pasted');

    await messageList(beaPage).getByText('Dropped and pasted').waitFor();
    const message = messageList(beaPage).locator('[data-testid="attachments"]').last();
    await message.getByText('packing.txt').waitFor();
    await expect.poll(() => message.locator('button[data-attachment-id] img').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(2);
  });

  it('[WB4] [WB5] signing out ends the session: this tab and another tab of it go back to sign-in', async () => {
    const other = await world.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
    await other.addCookies(await ann.cookies());
    const otherPage = await other.newPage();
    await otherPage.goto(`${world.url}/`);
    await otherPage.getByRole('navigation', { name: en.sidebar.label }).waitFor();
    await annPage.getByRole('button', { name: en.auth.signOut }).click();
    await annPage.getByRole('button', { name: en.auth.signIn, exact: true }).waitFor();
    await annPage.reload();
    await annPage.getByRole('button', { name: en.auth.signIn, exact: true }).waitFor();
    // The server closed the session's socket: the other tab learns it without a click.
    await otherPage.getByRole('button', { name: en.auth.signIn, exact: true }).waitFor({ timeout: 15_000 });
    await other.close();
  });

  it('[WB1] no script error and no Content-Security-Policy refusal in either tab', () => {
    expect(annProblems).toEqual([]);
    expect(beaProblems).toEqual([]);
  });
});
