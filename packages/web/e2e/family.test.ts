import crypto from 'node:crypto';
import fs from 'node:fs';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { en } from '../src/i18n/en.js';
import { fr } from '../src/i18n/fr.js';
import { allowAxe, CHROMIUM, messageList, password, screenshot, send, seriousViolations, signUp, skipProfileStep, startWorld, watchProblems, type World } from './browser.js';

const suffix = crypto.randomBytes(3).toString('hex');

/**
 * A guardian and a teen, and starting a group from a conversation: Gil (English, light, desktop)
 * links Tom (French, dark, phone) by the code Tom confirms, switches his group chats off and on;
 * Gil starts a group from their direct conversation and makes an invite link that expires.
 */
describe.skipIf(!fs.existsSync(CHROMIUM))('family and start a group in the browser', { timeout: 90_000 }, () => {
  let world: World;
  let gil: BrowserContext;
  let tom: BrowserContext;
  let gilPage: Page;
  let tomPage: Page;
  let gilProblems: string[];
  let tomProblems: string[];
  const expectAccessible = async (page: Page, screen: string) => {
    expect(await seriousViolations(page, world.url), screen).toEqual([]);
  };

  beforeAll(async () => {
    world = await startWorld();
    gil = await world.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', colorScheme: 'light' });
    tom = await world.browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'fr-FR', colorScheme: 'dark', isMobile: true, hasTouch: true });
    for (const context of [gil, tom]) {
      context.setDefaultTimeout(10_000);
      await allowAxe(context, world.url);
    }
    gilPage = await gil.newPage();
    tomPage = await tom.newPage();
    gilProblems = watchProblems(gilPage);
    tomProblems = watchProblems(tomPage);
  }, 120_000);
  afterAll(async () => {
    await world?.close();
  });

  it('[WB81] a teen signs up; a guardian links them by a code the teen confirms', async () => {
    await tomPage.goto(`${world.url}/`);
    await tomPage.getByRole('button', { name: fr.auth.signUp, exact: true }).click();
    await tomPage.getByLabel(fr.auth.username).fill(`tom_${suffix}`);
    await tomPage.getByLabel(fr.auth.displayName).fill('Tom');
    await tomPage.getByLabel(fr.auth.password).fill(password);
    await tomPage.getByLabel(fr.auth.teen).check();
    await tomPage.getByRole('button', { name: fr.auth.createAccount }).click();
    await tomPage.getByRole('navigation', { name: fr.sidebar.label }).waitFor({ state: 'attached' });
    await skipProfileStep(tomPage, fr);

    await gilPage.goto(`${world.url}/`);
    await signUp(gilPage, en, `gil_${suffix}`, 'Gil');
    await gilPage.getByRole('button', { name: en.settings.open }).click();
    const family = gilPage.getByRole('region', { name: en.family.title });
    await family.getByLabel(en.family.teenUsername).fill(`@tom_${suffix}`);
    await family.getByRole('button', { name: en.family.link, exact: true }).click();
    const code = (await family.getByTestId('guardian-code').textContent())?.trim() ?? '';
    expect(code).toMatch(/^[A-Z0-9-]{6,}$/);
    await family.getByText(en.family.pending).waitFor();
    await screenshot(gilPage, 'desktop-light-en-guardian');
    await expectAccessible(gilPage, 'guardian');

    // Tom, on his phone: the drawer, then his settings; a wrong code is refused, the right one links.
    await tomPage.getByRole('button', { name: fr.shell.openMenu }).first().click();
    await tomPage.getByRole('button', { name: fr.settings.open }).click();
    const teenSide = tomPage.getByRole('region', { name: fr.family.title });
    await teenSide.getByLabel(fr.family.code).fill('WRONG-CODE');
    await teenSide.getByRole('button', { name: fr.family.confirm, exact: true }).click();
    await teenSide.getByRole('alert').waitFor();
    await teenSide.getByLabel(fr.family.code).fill(code.toLowerCase());
    await teenSide.getByRole('button', { name: fr.family.confirm, exact: true }).click();
    await teenSide.getByText(fr.family.yourGuardian.replace('{{name}}', 'Gil')).waitFor();
    await teenSide.getByText(fr.family.groupChatsOn).waitFor();
    await screenshot(tomPage, 'phone-dark-fr-teen');
    await expectAccessible(tomPage, 'teen settings');

    // Gil sees the link active, with the switch.
    await gilPage.reload();
    await gilPage.getByRole('region', { name: en.family.title }).getByText(en.family.linked).waitFor();
  });

  it('[WB82] with group chats switched off the teen is told why, on New group and on an invite link', async () => {
    // Gil makes a group and an invite link before switching Tom's group chats off.
    await gilPage.getByRole('button', { name: en.settings.back }).click();
    await gilPage.getByRole('button', { name: en.sidebar.newGroup }).click();
    await gilPage.getByPlaceholder(en.group.namePlaceholder).fill('Family dinner');
    await gilPage.getByRole('button', { name: en.common.create }).click();
    await gilPage.getByRole('heading', { name: 'Family dinner' }).waitFor();
    await gilPage.getByRole('button', { name: en.group.details, exact: true }).click();
    await gilPage.getByRole('button', { name: en.group.createInvite }).click();
    const link = await gilPage.getByTestId('invite-link').inputValue();
    await gilPage.getByRole('button', { name: en.common.close, exact: true }).click();

    await gilPage.getByRole('button', { name: en.settings.open }).click();
    const groupChats = gilPage.getByRole('region', { name: en.family.title }).getByRole('switch', { name: en.family.groupChats });
    expect(await groupChats.isChecked()).toBe(true);
    await groupChats.uncheck();
    await expect.poll(() => groupChats.isChecked()).toBe(false);
    // Stored: Gil's reload still shows it off.
    await gilPage.reload();
    await expect.poll(() => groupChats.isChecked()).toBe(false);

    // Tom's page loaded while they were allowed: New group checks again and says why.
    await tomPage.getByRole('button', { name: fr.settings.back }).click();
    await tomPage.getByRole('button', { name: fr.shell.openMenu }).first().click();
    await tomPage.getByRole('button', { name: fr.sidebar.newGroup }).click();
    await tomPage.getByTestId('group-chats-off').getByText(fr.family.blockedCreate).waitFor();
    await expect.poll(() => tomPage.getByPlaceholder(fr.group.namePlaceholder).count()).toBe(0);
    await screenshot(tomPage, 'phone-dark-fr-teen-group-chats-off');
    await expectAccessible(tomPage, 'teen new group');

    // The invite page says it too, and joining is not offered.
    await tomPage.goto(link);
    await tomPage.getByRole('heading', { name: 'Family dinner' }).waitFor();
    await tomPage.getByTestId('group-chats-off').waitFor();
    expect(await tomPage.getByRole('button', { name: fr.invite.join }).isDisabled()).toBe(true);

    // Switched on again, the same link lets him in.
    await groupChats.check();
    await expect.poll(() => groupChats.isChecked()).toBe(true);
    await tomPage.reload();
    await tomPage.getByRole('heading', { name: 'Family dinner' }).waitFor();
    await expect.poll(() => tomPage.getByRole('button', { name: fr.invite.join }).isEnabled()).toBe(true);
    await tomPage.getByRole('button', { name: fr.invite.join }).click();
    await tomPage.waitForURL(/\/c\//);
  });

  it('[WB80] "Start a group" copies a direct conversation into a new group; the original stays as it was', async () => {
    await gilPage.getByRole('button', { name: en.settings.back }).click();
    await gilPage.getByRole('button', { name: en.sidebar.newDirectShort, exact: true }).click();
    await gilPage.getByPlaceholder(en.sidebar.usernamePlaceholder).fill(`tom_${suffix}`);
    await gilPage.getByRole('button', { name: en.common.create }).click();
    await gilPage.getByRole('heading', { name: 'Tom' }).waitFor();
    await send(gilPage, en, 'Shall we plan the trip with Grandma?');
    await messageList(gilPage).getByText('Shall we plan the trip with Grandma?').waitFor();
    const directUrl = gilPage.url();

    await gilPage.getByRole('button', { name: en.fork.open }).click();
    const dialog = gilPage.getByRole('dialog', { name: en.fork.title });
    // Tom, the other member, is ticked; the dialog holds the focus.
    expect(await dialog.getByRole('checkbox', { name: /Tom/ }).isChecked()).toBe(true);
    expect(await gilPage.evaluate(() => document.activeElement?.closest('[role="dialog"]') !== null)).toBe(true);
    await dialog.getByLabel(en.group.name, { exact: true }).fill('Trip with Grandma');
    await screenshot(gilPage, 'desktop-light-en-start-a-group');
    await expectAccessible(gilPage, 'start a group');
    await dialog.getByRole('button', { name: en.fork.create }).click();
    await gilPage.getByRole('heading', { name: 'Trip with Grandma' }).waitFor();
    expect(gilPage.url()).not.toBe(directUrl);
    await messageList(gilPage).getByText('Shall we plan the trip with Grandma?').waitFor();

    // Tom has the new group live, with the copied message; the direct conversation is unchanged.
    await tomPage.goto(`${world.url}/`);
    await tomPage.getByRole('button', { name: fr.shell.openMenu }).first().click();
    await tomPage.getByRole('navigation', { name: fr.sidebar.label }).getByText('Trip with Grandma', { exact: true }).click();
    await messageList(tomPage).getByText('Shall we plan the trip with Grandma?').waitFor();
    await gilPage.goto(directUrl);
    await messageList(gilPage).getByText('Shall we plan the trip with Grandma?').waitFor();
    await expect.poll(() => messageList(gilPage).getByText('Shall we plan the trip with Grandma?').count()).toBe(1);

    // Escape closes the dialog and gives the focus back to its button.
    await gilPage.getByRole('button', { name: en.fork.open }).click();
    await gilPage.getByRole('dialog', { name: en.fork.title }).waitFor();
    await gilPage.keyboard.press('Escape');
    await expect.poll(() => gilPage.getByRole('dialog').count()).toBe(0);
    expect(await gilPage.evaluate(() => document.activeElement?.textContent)).toContain(en.fork.open);
  });

  it('[WB83] an invite link can expire and be limited in uses; the list says so', async () => {
    await gilPage.getByRole('navigation', { name: en.sidebar.label }).getByText('Trip with Grandma', { exact: true }).click();
    await gilPage.getByRole('button', { name: en.group.details, exact: true }).click();
    const panel = gilPage.getByRole('complementary', { name: en.group.details });
    await panel.getByLabel(en.group.inviteExpiry).selectOption('hour');
    await panel.getByLabel(en.group.inviteMaxUses).fill('3');
    await panel.getByRole('button', { name: en.group.createInvite }).click();
    await panel.getByTestId('invite-link').waitFor();
    const listed = panel.locator('[data-invite-id]');
    await expect.poll(() => listed.count()).toBe(1);
    const text = (await listed.first().textContent()) ?? '';
    expect(text).toContain('0 of 3 uses');
    expect(text).toContain('expires');
    // What the server holds: an hour from now, three uses.
    const conversationId = new URL(gilPage.url()).pathname.split('/')[2] ?? '';
    const stored = await gilPage.evaluate(async (id) => {
      const response = await fetch(`/api/conversations/${id}/invites`);
      return (await response.json()) as { invites: { expiresAt: string | null; maxUses: number | null; revokedAt: string | null }[] };
    }, conversationId);
    const live = stored.invites.filter((invite) => invite.revokedAt === null);
    expect(live).toHaveLength(1);
    expect(live[0]?.maxUses).toBe(3);
    const left = Date.parse(live[0]?.expiresAt ?? '') - Date.now();
    expect(left).toBeGreaterThan(50 * 60_000);
    expect(left).toBeLessThanOrEqual(60 * 60_000);
    await screenshot(gilPage, 'desktop-light-en-invite-expiry');
    await expectAccessible(gilPage, 'invite expiry');
    expect(gilProblems).toEqual([]);
    expect(tomProblems).toEqual([]);
  });
});
