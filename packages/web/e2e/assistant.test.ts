import crypto from 'node:crypto';
import fs from 'node:fs';
import { ParleyClient } from '@parley/sdk';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { en } from '../src/i18n/en.js';
import { fr } from '../src/i18n/fr.js';
import { allowAxe, CHROMIUM, messageList, screenshot, send, seriousViolations, signUp, startWorld, watchProblems, type World } from './browser.js';

const suffix = crypto.randomBytes(3).toString('hex');

describe.skipIf(!fs.existsSync(CHROMIUM))("the assistant's screens in the browser", { timeout: 90_000 }, () => {
  let world: World;
  const expectAccessible = async (page: Page, screen: string) => {
    expect(await seriousViolations(page, world.url), screen).toEqual([]);
  };
  let ann: BrowserContext;
  let bea: BrowserContext;
  let annPage: Page;
  let beaPage: Page;
  let annProblems: string[];
  let beaProblems: string[];
  let bot: ParleyClient;
  let groupId = '';

  beforeAll(async () => {
    world = await startWorld();
    bot = new ParleyClient({ baseUrl: world.url, token: world.server.assistant.token });
    ann = await world.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', colorScheme: 'light' });
    bea = await world.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'fr-FR', colorScheme: 'dark' });
    ann.setDefaultTimeout(10_000);
    bea.setDefaultTimeout(10_000);
    annPage = await ann.newPage();
    beaPage = await bea.newPage();
    annProblems = watchProblems(annPage);
    beaProblems = watchProblems(beaPage);
    await allowAxe(ann, world.url);
    await allowAxe(bea, world.url);

    await beaPage.goto(`${world.url}/`);
    await signUp(beaPage, fr, `bea_${suffix}`, 'Béa');
    await annPage.goto(`${world.url}/`);
    await signUp(annPage, en, `ann_${suffix}`, 'Ann');
    await annPage.getByRole('button', { name: en.sidebar.newGroup }).click();
    await annPage.getByPlaceholder(en.group.namePlaceholder).fill('Book club');
    await annPage.getByPlaceholder(en.group.usernamesPlaceholder).fill(`bea_${suffix}`);
    await annPage.getByRole('button', { name: en.common.create }).click();
    await annPage.getByRole('heading', { name: 'Book club' }).waitFor();
    groupId = new URL(annPage.url()).pathname.split('/')[2] ?? '';
    await beaPage.locator(`[data-conversation-id="${groupId}"]`).click();
    await beaPage.getByRole('heading', { name: 'Book club' }).waitFor();
  }, 120_000);
  afterAll(async () => {
    await world?.close();
  });

  it("[WB31] a member changes the assistant's name, personality, mode and talkativeness; the other sees it live", async () => {
    await beaPage.getByRole('button', { name: fr.group.details, exact: true }).click();
    const beaForm = beaPage.getByRole('form', { name: fr.assistantSettings.title });
    await beaForm.waitFor();
    const before = await bot.api.getConversation({ params: { conversationId: groupId } });
    expect(await beaForm.getByLabel(fr.assistantSettings.name, { exact: true }).inputValue()).toBe(before.conversation.assistant?.name);

    await annPage.getByRole('button', { name: en.group.details, exact: true }).click();
    const form = annPage.getByRole('form', { name: en.assistantSettings.title });
    await form.getByLabel(en.assistantSettings.name, { exact: true }).fill('Sage');
    await form.getByLabel(en.assistantSettings.personality).fill('Warm, brief, loves science fiction.');
    await form.getByRole('radio', { name: en.assistantSettings.mentions }).check();
    // The slider by keyboard: Home goes to 0, each right arrow adds one step of 5 %.
    const slider = form.getByRole('slider', { name: en.assistantSettings.talkativeness });
    await slider.focus();
    await annPage.keyboard.press('Home');
    for (let step = 0; step < 6; step++) await annPage.keyboard.press('ArrowRight');
    expect(await slider.inputValue()).toBe('30');
    await screenshot(annPage, 'desktop-light-en-assistant-settings');
    await expectAccessible(annPage, 'assistant settings');
    await form.getByRole('button', { name: en.assistantSettings.save }).click();
    await form.getByRole('status').getByText(en.assistantSettings.saved).waitFor();

    // Stored on the server…
    const after = await bot.api.getConversation({ params: { conversationId: groupId } });
    expect(after.conversation.assistant).toEqual({ name: 'Sage', personality: 'Warm, brief, loves science fiction.', mode: 'mentions', talkativeness: 0.3 });
    // …and live in Bea's open panel, from the conversation-updated event.
    await expect.poll(() => beaForm.getByLabel(fr.assistantSettings.name, { exact: true }).inputValue()).toBe('Sage');
    expect(await beaForm.getByLabel(fr.assistantSettings.personality).inputValue()).toBe('Warm, brief, loves science fiction.');
    expect(await beaForm.getByRole('radio', { name: fr.assistantSettings.mentions }).isChecked()).toBe(true);
    expect(await beaForm.getByRole('slider', { name: fr.assistantSettings.talkativeness }).inputValue()).toBe('30');
    // In this group the assistant goes by its new name, in the member list too.
    const beaPanel = beaPage.getByRole('complementary', { name: fr.group.details });
    expect(await beaPanel.locator('li', { hasText: '@assistant' }).textContent()).toContain('Sage');
    await screenshot(beaPage, 'desktop-dark-fr-assistant-settings');
    await expectAccessible(beaPage, 'assistant settings, dark, French');

    // Bea puts it back to auto: Ann's form follows.
    await beaForm.getByRole('radio', { name: fr.assistantSettings.auto }).check();
    await beaForm.getByRole('button', { name: fr.assistantSettings.save }).click();
    await expect.poll(() => form.getByRole('radio', { name: en.assistantSettings.auto }).isChecked()).toBe(true);
    expect((await bot.api.getConversation({ params: { conversationId: groupId } })).conversation.assistant?.mode).toBe('auto');

    // A blank name passes the browser's `required` but not the server, which trims it: its error shows, nothing is saved.
    await form.getByLabel(en.assistantSettings.name, { exact: true }).fill('   ');
    await form.getByRole('button', { name: en.assistantSettings.save }).click();
    await form.getByRole('alert').waitFor();
    expect((await bot.api.getConversation({ params: { conversationId: groupId } })).conversation.assistant?.name).toBe('Sage');
    await form.getByLabel(en.assistantSettings.name, { exact: true }).fill('Sage');

    await annPage.getByRole('button', { name: en.common.close, exact: true }).click();
    await beaPage.getByRole('button', { name: fr.common.close, exact: true }).click();
  });

  it('[WB32] [WB87] "Why?" on a message shows the recorded decisions, each rule explained in the reader\'s language, or says none was recorded', async () => {
    await send(annPage, en, 'Has anyone read Dune?');
    await send(beaPage, fr, 'On se voit vendredi ?');
    const asked = messageList(beaPage).locator('article', { hasText: 'Has anyone read Dune?' });
    const quiet = messageList(annPage).locator('article', { hasText: 'On se voit vendredi ?' });
    await asked.waitFor();
    await quiet.waitFor();
    const askedId = (await asked.getAttribute('data-message-id')) ?? '';
    await bot.api.recordDecision({
      params: { conversationId: groupId },
      body: { messageId: askedId, action: 'react', emoji: '📚', reason: 'A question about a book: a reaction first.', rule: 'TT4', model: 'scripted-model' },
    });
    await bot.api.recordDecision({
      params: { conversationId: groupId },
      body: { messageId: askedId, action: 'answer', reason: 'Asked a question nobody answered.', rule: 'TT2' },
    });

    // Bea, in French.
    await asked.hover();
    await asked.getByRole('button', { name: fr.why.open, exact: true }).click();
    const dialog = beaPage.getByRole('dialog', { name: fr.why.title });
    await dialog.waitFor();
    const decisions = dialog.locator('[data-decision-id]');
    await expect.poll(() => decisions.count()).toBe(2);
    // The answer, decided by the rules alone; the reaction, asked of a model.
    const answered = decisions.filter({ hasText: 'Asked a question nobody answered.' });
    expect(await answered.textContent()).toContain(fr.why.action.answer);
    expect(await answered.textContent()).toContain('TT2');
    expect(await answered.textContent()).toContain(fr.why.noModel);
    // The rule is explained in Bea's language; the recorded words follow it [WB87].
    expect(await answered.getByTestId('why-rule-explained').textContent()).toBe(fr.why.rules.TT2);
    expect(await answered.textContent()).toContain(fr.why.details);
    const reacted = decisions.filter({ hasText: 'A question about a book' });
    expect(await reacted.textContent()).toContain(fr.why.reactedWith.replace('{{emoji}}', '📚'));
    expect(await reacted.textContent()).toContain('TT4');
    expect(await reacted.textContent()).toContain('scripted-model');
    expect(await reacted.locator('time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
    await screenshot(beaPage, 'desktop-dark-fr-why');
    await expectAccessible(beaPage, 'why dialog, dark, French');
    await beaPage.keyboard.press('Escape');
    expect(await dialog.count()).toBe(0);

    // Ann, on a message the assistant decided nothing about.
    await quiet.hover();
    await quiet.getByRole('button', { name: en.why.open, exact: true }).click();
    const none = annPage.getByRole('dialog', { name: en.why.title });
    await none.getByText(en.why.none).waitFor();
    await screenshot(annPage, 'desktop-light-en-why-none');
    await expectAccessible(annPage, 'why dialog with no decision');
    await none.getByRole('button', { name: en.common.close }).click();
    expect(await none.count()).toBe(0);

    // By keyboard: the focused button opens it with Enter; Escape closes it and gives the focus back.
    const why = quiet.getByRole('button', { name: en.why.open, exact: true });
    await why.focus();
    await annPage.keyboard.press('Enter');
    await none.getByText(en.why.none).waitFor();
    await annPage.keyboard.press('Escape');
    await expect.poll(() => why.evaluate((element) => element === document.activeElement)).toBe(true);
  });

  it('[WB86] "Why?" on one of the assistant\'s answers shows the message it replies to and the decisions about that message', async () => {
    const asked = messageList(annPage).locator('article', { hasText: 'Has anyone read Dune?' });
    const askedId = (await asked.getAttribute('data-message-id')) ?? '';
    const turnId = crypto.randomBytes(12).toString('base64url');
    await bot.api.startTurn({ params: { conversationId: groupId }, body: { id: turnId, triggerMessageId: askedId, model: 'scripted-model' } });
    await bot.api.endTurn({ params: { conversationId: groupId, turnId }, body: { status: 'completed', text: 'I have: the spice must flow.' } });
    const answer = messageList(annPage).locator('article', { hasText: 'the spice must flow' });
    await answer.waitFor();
    // The sidebar's preview names the assistant as this group calls it.
    await annPage.locator(`[data-conversation-id="${groupId}"]`, { hasText: 'Sage: I have: the spice must flow.' }).waitFor();
    await answer.hover();
    await answer.getByRole('button', { name: en.why.open, exact: true }).click();
    const dialog = annPage.getByRole('dialog', { name: en.why.title });
    const about = dialog.getByTestId('why-answer');
    await about.getByText('Has anyone read Dune?').waitFor();
    expect(await about.textContent()).toContain(en.why.answerModel.replace('{{model}}', 'scripted-model'));
    // The decisions are those about the message it answers, recorded above.
    await expect.poll(() => dialog.locator('[data-decision-id]').count()).toBe(2);
    await screenshot(annPage, 'desktop-light-en-why-answer');
    await expectAccessible(annPage, 'why dialog on an answer');
    await annPage.keyboard.press('Escape');

    // An answer that no message started says so.
    const unprompted = crypto.randomBytes(12).toString('base64url');
    await bot.api.startTurn({ params: { conversationId: groupId }, body: { id: unprompted } });
    await bot.api.endTurn({ params: { conversationId: groupId, turnId: unprompted }, body: { status: 'completed', text: 'Reminder: book club at eight.' } });
    const reminder = messageList(beaPage).locator('article', { hasText: 'book club at eight' });
    await reminder.waitFor();
    await reminder.hover();
    await reminder.getByRole('button', { name: fr.why.open, exact: true }).click();
    const frDialog = beaPage.getByRole('dialog', { name: fr.why.title });
    await frDialog.getByText(fr.why.noTrigger).waitFor();
    expect(await frDialog.getByTestId('no-decision').count()).toBe(0);
    await beaPage.keyboard.press('Escape');
  });

  it("[WB33] the person's settings: custom instructions and memories, which the assistant gets in a one-to-one chat", async () => {
    // A one-to-one chat with the assistant, to read what it is given there.
    await annPage.getByRole('button', { name: en.sidebar.newAssistant }).click();
    await annPage.waitForURL((url) => !url.pathname.endsWith(groupId) && url.pathname.startsWith('/c/'));
    const chatId = new URL(annPage.url()).pathname.split('/')[2] ?? '';

    await annPage.getByRole('navigation', { name: en.sidebar.label }).getByRole('button', { name: en.settings.open }).click();
    await annPage.waitForURL(`${world.url}/settings`);
    await annPage.getByRole('heading', { name: en.settings.title }).waitFor();
    await annPage.getByTestId('no-memories').waitFor();
    const instructions = annPage.getByRole('textbox', { name: en.settings.instructions, exact: true });
    await expect.poll(() => instructions.isEnabled()).toBe(true);
    await instructions.fill('Answer in short sentences. I live in Lyon.');
    await annPage.getByRole('button', { name: en.settings.saveInstructions }).click();
    await annPage.getByRole('status').getByText(en.settings.saved).waitFor();

    const newMemory = annPage.getByLabel(en.settings.newMemory);
    await newMemory.fill('Likes hiking');
    await annPage.keyboard.press('Enter');
    await annPage.getByText('Likes hiking', { exact: true }).waitFor();
    await newMemory.fill('Vegetarian');
    await annPage.getByRole('button', { name: en.settings.add }).click();
    await annPage.getByText('Vegetarian', { exact: true }).waitFor();
    expect(await newMemory.inputValue()).toBe('');

    // Edit one, delete the other.
    await annPage.getByRole('button', { name: en.settings.editNamed.replace('{{text}}', 'Likes hiking') }).click();
    const editor = annPage.getByLabel(en.settings.editMemory, { exact: true });
    await editor.fill('Loves hiking in the Alps');
    await annPage.getByRole('button', { name: en.common.save, exact: true }).click();
    await annPage.getByText('Loves hiking in the Alps', { exact: true }).waitFor();
    await annPage.getByRole('button', { name: en.settings.deleteMemory.replace('{{text}}', 'Vegetarian') }).click();
    await expect.poll(() => annPage.getByText('Vegetarian', { exact: true }).count()).toBe(0);

    // A blank memory is refused by the server (it trims): the error shows.
    await newMemory.fill('   ');
    await annPage.getByRole('button', { name: en.settings.add }).click();
    await annPage.getByRole('alert').waitFor();
    await newMemory.fill('');

    // What the assistant saved itself shows too, marked as such.
    await bot.api.rememberForOwner({ params: { conversationId: chatId }, body: { text: 'Reading Dune' } });
    await annPage.reload();
    await annPage.getByText('Reading Dune', { exact: true }).waitFor();
    await expect.poll(() => instructions.inputValue()).toBe('Answer in short sentences. I live in Lyon.');
    expect(await annPage.locator('[data-memory-id]', { hasText: 'Reading Dune' }).textContent()).toContain(en.settings.fromAssistant);
    expect(await annPage.locator('[data-memory-id]', { hasText: 'Loves hiking' }).textContent()).toContain(en.settings.fromYou);
    await screenshot(annPage, 'desktop-light-en-settings');
    await expectAccessible(annPage, 'settings');

    // The assistant is given exactly these in Ann's one-to-one chat, and nothing of them in the group.
    const context = await bot.api.getAssistantContext({ params: { conversationId: chatId } });
    expect(context.personal?.instructions).toBe('Answer in short sentences. I live in Lyon.');
    expect(context.personal?.memories.map((memory) => memory.text).sort()).toEqual(['Loves hiking in the Alps', 'Reading Dune']);
    expect((await bot.api.getAssistantContext({ params: { conversationId: groupId } })).personal).toBeNull();

    // On a phone, in French and dark: the same screen, reached from the drawer.
    const phone = await world.browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'fr-FR', colorScheme: 'dark', isMobile: true, hasTouch: true });
    await phone.addCookies(await ann.cookies());
    await allowAxe(phone, world.url);
    const phonePage = await phone.newPage();
    const phoneProblems = watchProblems(phonePage);
    await phonePage.goto(`${world.url}/`);
    await phonePage.getByRole('button', { name: fr.shell.openMenu }).click();
    await phonePage.getByRole('button', { name: fr.settings.open }).click();
    await phonePage.getByRole('heading', { name: fr.settings.title }).waitFor();
    await phonePage.getByText('Reading Dune', { exact: true }).waitFor();
    await expect.poll(() => phonePage.getByRole('textbox', { name: fr.settings.instructions, exact: true }).inputValue()).toBe('Answer in short sentences. I live in Lyon.');
    const sidebar = phonePage.getByTestId('sidebar');
    await expect.poll(async () => { const box = await sidebar.boundingBox(); return box ? box.x + box.width : 1; }).toBeLessThanOrEqual(0);
    await screenshot(phonePage, 'phone-dark-fr-settings');
    await expectAccessible(phonePage, 'phone settings, dark, French');
    // The assistant settings on a phone, in the group panel.
    await phonePage.goto(`${world.url}/c/${groupId}`);
    await phonePage.getByRole('button', { name: fr.group.details, exact: true }).click();
    await phonePage.getByRole('form', { name: fr.assistantSettings.title }).waitFor();
    await screenshot(phonePage, 'phone-dark-fr-assistant-settings');
    await expectAccessible(phonePage, 'phone assistant settings, dark, French');
    expect(phoneProblems).toEqual([]);
    await phone.close();
  });

  it('no script error and no Content-Security-Policy refusal in either tab', () => {
    expect(annProblems).toEqual([]);
    expect(beaProblems).toEqual([]);
  });
});
