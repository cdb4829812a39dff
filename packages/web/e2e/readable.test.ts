import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { ParleyClient } from '@parley/sdk';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { en } from '../src/i18n/en.js';
import { fr } from '../src/i18n/fr.js';
import { allowAxe, CHROMIUM, messageList, password, screenshot, seriousViolations, signUp, startWorld, watchProblems, type World } from './browser.js';

const suffix = crypto.randomBytes(3).toString('hex');
const require = createRequire(import.meta.url);
const labels = (locale: 'en' | 'fr') =>
  new Map((require(`emojibase-data/${locale}/data.json`) as { emoji: string; label: string }[]).map((entry) => [entry.emoji, entry.label]));
const EN = labels('en');
const FR = labels('fr');
/** Emoji 16 and 17, and 15 as the control. */
const BAGS = '\u{1FAE9}';
const DISTORTED = '\u{1FAEA}';
const SHAKING = '\u{1FAE8}';
/** A reserved pictographic code point: a valid reaction no font draws and no data names. */
const RESERVED = '\u{1FC00}';

/**
 * The test's own look at the page's fonts, independent of the client's check: drawn large in
 * black, an emoji the font has leaves coloured pixels; one it lacks leaves none, or only black.
 */
async function drawnInColour(page: Page, emoji: string): Promise<boolean> {
  return page.evaluate((text) => {
    const canvas = document.createElement('canvas');
    canvas.width = 96;
    canvas.height = 64;
    const context = canvas.getContext('2d');
    if (!context) throw new Error('no canvas');
    context.font = "48px 'Noto Color Emoji', 'Apple Color Emoji', 'Segoe UI Emoji', sans-serif";
    context.textBaseline = 'top';
    context.fillStyle = '#000';
    context.fillText(text, 0, 4);
    const pixels = context.getImageData(0, 0, 96, 64).data;
    for (let index = 0; index < pixels.length; index += 4) {
      if ((pixels[index + 3] ?? 0) > 0 && ((pixels[index] ?? 0) > 40 || (pixels[index + 1] ?? 0) > 40 || (pixels[index + 2] ?? 0) > 40)) return true;
    }
    return false;
  }, emoji);
}

/**
 * What a person reads when the server or their fonts know more than the page: emoji newer than the
 * font [WB90], and refusals of the server, in the person's language [WB92].
 */
describe.skipIf(!fs.existsSync(CHROMIUM))('emoji the font cannot draw, and refusals, in the browser', { timeout: 90_000 }, () => {
  let world: World;
  let ann: BrowserContext;
  let bea: BrowserContext;
  let annPage: Page;
  let beaPage: Page;
  const problems: string[][] = [];
  let groupId = '';
  let messageId = '';

  beforeAll(async () => {
    world = await startWorld();
    ann = await world.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', colorScheme: 'light' });
    bea = await world.browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'fr-FR', colorScheme: 'dark' });
    for (const context of [ann, bea]) {
      context.setDefaultTimeout(10_000);
      await allowAxe(context, world.url);
    }
    annPage = await ann.newPage();
    beaPage = await bea.newPage();
    for (const page of [annPage, beaPage]) problems.push(watchProblems(page));
    await annPage.goto(`${world.url}/`);
    await signUp(annPage, en, `ann_${suffix}`, 'Ann');
    await beaPage.goto(`${world.url}/`);
    await signUp(beaPage, fr, `bea_${suffix}`, 'Béa');
    const annApi = (await ParleyClient.signIn(world.url, { username: `ann_${suffix}`, password })).client;
    const beaApi = (await ParleyClient.signIn(world.url, { username: `bea_${suffix}`, password })).client;
    groupId = (await annApi.api.createConversation({ body: { kind: 'group', title: 'Emoji', usernames: [`bea_${suffix}`] } })).conversation.id;
    const sent = await annApi.api.sendMessage({ params: { conversationId: groupId }, body: { id: crypto.randomUUID(), text: 'React to this' } });
    messageId = sent.id;
    // Bea reacts from a system with newer fonts: Emoji 16 and 17, a reserved code point, and an old one.
    for (const emoji of [BAGS, DISTORTED, RESERVED, '👍']) {
      await beaApi.api.addReaction({ params: { conversationId: groupId, messageId, emoji } });
    }
  }, 120_000);
  afterAll(async () => {
    await world?.close();
  });

  it('[WB90] a reaction the font lacks shows its name in the reader\'s language as text and title; one it has shows itself', async () => {
    await annPage.goto(`${world.url}/c/${groupId}`);
    const article = messageList(annPage).locator(`article[data-message-id="${messageId}"]`);
    await article.waitFor();
    await article.getByRole('button', { name: '👍 1' }).waitFor();
    // The reserved code point is never drawn: its code points stand for it.
    const reserved = article.locator(`[data-testid="emoji-fallback"][data-emoji="${RESERVED}"]`);
    expect(await reserved.textContent()).toBe(':U+1FC00:');
    expect(await reserved.getAttribute('title')).toBe('U+1FC00');
    expect(await drawnInColour(annPage, RESERVED)).toBe(false);

    const fallbacks = { en: 0, fr: 0 };
    for (const emoji of [BAGS, DISTORTED]) {
      const drawn = await drawnInColour(annPage, emoji);
      const fallback = article.locator(`[data-testid="emoji-fallback"][data-emoji="${emoji}"]`);
      if (drawn) {
        // This machine's font has it: the emoji itself, no stand-in.
        await article.getByRole('button', { name: `${emoji} 1` }).waitFor();
        expect(await fallback.count()).toBe(0);
        continue;
      }
      await expect.poll(() => fallback.getAttribute('title')).toBe(EN.get(emoji));
      expect(await fallback.textContent()).toBe(`:${EN.get(emoji)}:`);
      fallbacks.en += 1;
      const beaFallback = messageList(beaPage).locator(`[data-testid="emoji-fallback"][data-emoji="${emoji}"]`);
      if (fallbacks.fr === 0) await beaPage.goto(`${world.url}/c/${groupId}`);
      await expect.poll(() => beaFallback.getAttribute('title')).toBe(FR.get(emoji));
      expect(await beaFallback.textContent()).toBe(`:${FR.get(emoji)}:`);
      fallbacks.fr += 1;
    }
    // Debian's Noto Color Emoji stops at Emoji 15.1: both are stood for here.
    console.info(`emoji 16/17 shown by name: ${fallbacks.en} of 2`);
    await article.scrollIntoViewIfNeeded();
    await screenshot(annPage, 'desktop-light-en-emoji-fallback');
    if (fallbacks.fr > 0) await screenshot(beaPage, 'phone-dark-fr-emoji-fallback');
    expect(await seriousViolations(annPage, world.url)).toEqual([]);

    // A click on a stood-for reaction joins it, as on any other.
    await article.getByRole('button', { name: /^:U\+1FC00: 1$/ }).click();
    await article.getByRole('button', { name: /^:U\+1FC00: 2$/ }).waitFor();
  });

  it('[WB90] the picker offers only emoji the browser draws', async () => {
    await annPage.goto(`${world.url}/c/${groupId}`);
    const article = messageList(annPage).locator(`article[data-message-id="${messageId}"]`);
    await article.hover();
    await article.getByRole('button', { name: en.message.react }).click();
    await article.getByRole('button', { name: en.emoji.more }).click();
    const dialog = annPage.getByRole('dialog', { name: en.emoji.title });
    await dialog.getByRole('gridcell').first().waitFor({ timeout: 15_000 });
    const search = dialog.getByLabel(en.emoji.search);
    const capitalised = (label: string | undefined) => (label ? label.charAt(0).toUpperCase() + label.slice(1) : '');
    let left = 0;
    for (const emoji of [SHAKING, BAGS, DISTORTED]) {
      const drawn = await drawnInColour(annPage, emoji);
      await search.fill(EN.get(emoji) ?? '');
      const cell = dialog.getByRole('gridcell', { name: capitalised(EN.get(emoji)), exact: true });
      if (drawn) {
        await cell.waitFor();
      } else {
        await dialog.getByText(en.emoji.none).waitFor();
        expect(await cell.count()).toBe(0);
        left += 1;
      }
    }
    // The control (Emoji 15) is drawn on this machine; the newer ones are not.
    expect(await drawnInColour(annPage, SHAKING)).toBe(true);
    console.info(`emoji 16/17 left out of the picker: ${left} of 2`);
    // Every emoji the picker shows for a broad search is one the font draws.
    await search.fill('face');
    await dialog.getByRole('gridcell').first().waitFor();
    const shown = await dialog.getByRole('gridcell').evaluateAll((cells) => cells.map((cell) => cell.textContent ?? ''));
    expect(shown.length).toBeGreaterThan(10);
    for (const emoji of shown) expect({ emoji, drawn: await drawnInColour(annPage, emoji) }).toEqual({ emoji, drawn: true });
    await screenshot(annPage, 'desktop-light-en-emoji-picker-face');
    await annPage.keyboard.press('Escape');
  });

  it('[WB92] a refusal of the server reads in French for a French reader, not in the server’s English', async () => {
    await beaPage.goto(`${world.url}/c/${groupId}`);
    await beaPage.getByRole('button', { name: fr.group.details, exact: true }).click();
    // Ann is in the group already: the server refuses with ALREADY_MEMBER (its words: "@ann_… is already a member").
    await beaPage.getByLabel(fr.group.addByUsername).fill(`ann_${suffix}`);
    await beaPage.getByRole('button', { name: fr.group.add, exact: true }).click();
    const alert = beaPage.getByRole('alert').filter({ hasText: fr.errors.ALREADY_MEMBER });
    await alert.waitFor();
    expect(await beaPage.getByText('is already a member').count()).toBe(0);
    await alert.scrollIntoViewIfNeeded();
    await screenshot(beaPage, 'phone-dark-fr-refusal');
    expect(await seriousViolations(beaPage, world.url)).toEqual([]);
    for (const list of problems) expect(list).toEqual([]);
  });
});
