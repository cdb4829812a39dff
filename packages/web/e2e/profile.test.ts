import crypto from 'node:crypto';
import fs from 'node:fs';
import zlib from 'node:zlib';
import { ParleyClient } from '@parley/sdk';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { en } from '../src/i18n/en.js';
import { fr } from '../src/i18n/fr.js';
import { allowAxe, CHROMIUM, messageList, password, screenshot, seriousViolations, signUp, startWorld, watchProblems, type World } from './browser.js';

const suffix = crypto.randomBytes(3).toString('hex');

/** A PNG of `width` × `height` whose left half is red and right half blue: a crop shows where it cut. */
function halvesPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y += 1) {
    const start = y * (width * 3 + 1);
    for (let x = 0; x < width; x += 1) rows.set(x < width / 2 ? [220, 20, 20] : [20, 20, 220], start + 1 + x * 3);
  }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', zlib.deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

/** The colour at fractions (`fx`, `fy`) of an image the page loads from `url` (its own origin). */
async function colourAt(page: Page, url: string, fx: number, fy: number): Promise<{ width: number; height: number; rgb: number[] }> {
  return page.evaluate(
    async ({ url, fx, fy }) => {
      const image = new Image();
      image.src = url;
      await image.decode();
      const canvas = document.createElement('canvas');
      canvas.width = image.naturalWidth;
      canvas.height = image.naturalHeight;
      const context = canvas.getContext('2d');
      if (!context) throw new Error('no 2d context');
      context.drawImage(image, 0, 0);
      const pixel = context.getImageData(Math.floor(canvas.width * fx), Math.floor(canvas.height * fy), 1, 1).data;
      return { width: canvas.width, height: canvas.height, rgb: [pixel[0] ?? 0, pixel[1] ?? 0, pixel[2] ?? 0] };
    },
    { url, fx, fy },
  );
}

const focusInDialog = (page: Page) => page.evaluate(() => document.activeElement?.closest('[role="dialog"]')?.getAttribute('data-testid') ?? null);

describe.skipIf(!fs.existsSync(CHROMIUM))('profiles, cards and blocking in the browser', { timeout: 90_000 }, () => {
  let world: World;
  const expectAccessible = async (page: Page, screen: string) => {
    expect(await seriousViolations(page, world.url), screen).toEqual([]);
  };
  let ann: BrowserContext;
  let bea: BrowserContext;
  let annPage: Page;
  let beaPage: Page;
  let problems: string[][] = [];
  let cid: Awaited<ReturnType<typeof ParleyClient.signUp>>;
  let link = '';
  let groupId = '';

  beforeAll(async () => {
    world = await startWorld();
    ann = await world.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', colorScheme: 'light' });
    bea = await world.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'fr-FR', colorScheme: 'dark' });
    ann.setDefaultTimeout(10_000);
    bea.setDefaultTimeout(10_000);
    annPage = await ann.newPage();
    beaPage = await bea.newPage();
    problems = [watchProblems(annPage), watchProblems(beaPage)];
    await allowAxe(ann, world.url);
    await allowAxe(bea, world.url);
    cid = await ParleyClient.signUp(world.url, { username: `cid_${suffix}`, password, displayName: 'Cid' });
  }, 120_000);
  afterAll(async () => {
    await world?.close();
  });

  it('[WB50] [WB52] New group first shows the profile step: a modal dialog that keeps the focus, closes on Escape and gives the focus back', async () => {
    await annPage.goto(`${world.url}/`);
    await signUp(annPage, en, `ann_${suffix}`, 'Ann', { profileStep: 'keep' });
    const newGroup = annPage.getByRole('button', { name: en.sidebar.newGroup });
    await newGroup.click();
    const step = annPage.getByRole('dialog', { name: en.profile.stepTitle });
    await step.waitFor();
    expect(await step.getAttribute('aria-modal')).toBe('true');
    // The focus starts in the dialog, on the display name, which holds the name given at sign-up.
    await expect.poll(() => annPage.evaluate(() => document.activeElement?.getAttribute('id'))).toBe(await step.getByLabel(en.auth.displayName).getAttribute('id'));
    expect(await step.getByLabel(en.auth.displayName).inputValue()).toBe('Ann');
    // Tab and Shift+Tab never leave it.
    await annPage.keyboard.press('Shift+Tab');
    expect(await focusInDialog(annPage)).toBe('profile-step');
    for (let press = 0; press < 12; press += 1) {
      await annPage.keyboard.press('Tab');
      expect(await focusInDialog(annPage)).toBe('profile-step');
    }
    await screenshot(annPage, 'desktop-light-en-profile-step');
    await expectAccessible(annPage, 'profile step');
    // Escape gives up New group, and the focus is back on the button.
    await annPage.keyboard.press('Escape');
    await expect.poll(() => step.count()).toBe(0);
    expect(await annPage.evaluate(() => document.activeElement?.textContent)).toBe(en.sidebar.newGroup);
    expect(await annPage.getByRole('form', { name: en.sidebar.newGroup }).count()).toBe(0);
  });

  it('[WB51] [WB52] a taken username shows on its field; a picked picture is cropped with zoom and a live preview, uploaded, and New group goes on', async () => {
    await annPage.getByRole('button', { name: en.sidebar.newGroup }).click();
    const step = annPage.getByRole('dialog', { name: en.profile.stepTitle });
    const username = step.getByLabel(en.auth.username);
    await username.fill(`cid_${suffix}`);
    await step.getByRole('button', { name: en.profile.saveAndContinue }).click();
    await step.getByText(en.errors.USERNAME_TAKEN).waitFor();
    expect(await username.getAttribute('aria-invalid')).toBe('true');
    expect(await username.getAttribute('aria-describedby')).toBe(await step.locator('[data-error-of="username"]').getAttribute('id'));
    await username.fill(`ann_${suffix}`);

    // A file that is not an image is refused on the spot.
    const picker = step.getByLabel(en.profile.chooseAvatar);
    await picker.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
    await step.getByText(en.profile.avatarType).waitFor();

    // 400 × 200, red then blue: the square frame of side 200 sits in the middle, across the border.
    await picker.setInputFiles({ name: 'halves.png', mimeType: 'image/png', buffer: halvesPng(400, 200) });
    const cropArea = step.getByRole('group', { name: en.profile.cropArea });
    await cropArea.waitFor();
    const zoom = step.getByLabel(en.profile.zoom);
    expect(await zoom.inputValue()).toBe('1');
    // Zoom by keyboard, on the picture and on the slider.
    await cropArea.focus();
    for (let press = 0; press < 5; press += 1) await annPage.keyboard.press('+');
    await expect.poll(() => zoom.inputValue()).toBe('1.5');
    await zoom.focus();
    for (let press = 0; press < 5; press += 1) await annPage.keyboard.press('ArrowRight');
    await expect.poll(() => zoom.inputValue()).toBe('2');
    // The round preview follows: red on its left, blue on its right.
    const preview = step.getByTestId('avatar-preview');
    const previewColours = async () =>
      preview.evaluate((canvas: HTMLCanvasElement) => {
        const context = canvas.getContext('2d');
        const at = (fx: number) => [...(context?.getImageData(Math.floor(canvas.width * fx), Math.floor(canvas.height / 2), 1, 1).data ?? [])].slice(0, 3);
        return { left: at(0.25), right: at(0.75) };
      });
    await expect.poll(async () => (await previewColours()).left[0] ?? 0).toBeGreaterThan(150);
    expect((await previewColours()).right[2]).toBeGreaterThan(150);
    // The arrow keys move the picture under the frame: to the right, the frame sees more red; and back.
    await cropArea.focus();
    for (let press = 0; press < 8; press += 1) await annPage.keyboard.press('ArrowRight');
    await expect.poll(async () => (await previewColours()).right[0] ?? 0).toBeGreaterThan(150);
    for (let press = 0; press < 8; press += 1) await annPage.keyboard.press('ArrowLeft');
    await expect.poll(async () => (await previewColours()).right[2] ?? 0).toBeGreaterThan(150);
    await screenshot(annPage, 'desktop-light-en-profile-crop');
    await expectAccessible(annPage, 'profile step with the cropper');

    await step.getByRole('button', { name: en.profile.saveAndContinue }).click();
    // The step is gone and what it was opened for goes on: the New group form, the focus in it.
    await annPage.getByRole('form', { name: en.sidebar.newGroup }).waitFor();
    expect(await step.count()).toBe(0);
    const sidebarPicture = annPage.getByRole('navigation', { name: en.sidebar.label }).locator('img[src^="/api/avatars/"]');
    await sidebarPicture.waitFor();
    const src = (await sidebarPicture.getAttribute('src')) ?? '';
    // What the server stored is the square of the middle at zoom 2 (x 150 to 250 of 400): red, then blue.
    const left = await colourAt(annPage, src, 0.2, 0.5);
    const right = await colourAt(annPage, src, 0.8, 0.5);
    expect(left.width).toBe(left.height);
    expect(left.rgb[0]).toBeGreaterThan(150);
    expect(left.rgb[2]).toBeLessThan(100);
    expect(right.rgb[2]).toBeGreaterThan(150);
    expect(right.rgb[0]).toBeLessThan(100);

    await annPage.getByPlaceholder(en.group.namePlaceholder).fill('Profiles');
    await annPage.getByRole('button', { name: en.common.create }).click();
    await annPage.getByRole('heading', { name: 'Profiles' }).waitFor();
    groupId = new URL(annPage.url()).pathname.split('/')[2] ?? '';
    await annPage.getByRole('button', { name: en.group.details, exact: true }).click();
    await annPage.getByRole('button', { name: en.group.createInvite }).click();
    link = await annPage.getByTestId('invite-link').inputValue();
    await annPage.getByRole('button', { name: en.common.close, exact: true }).click();
    // Cid is in the group too.
    await cid.client.api.joinInvite({ params: { token: link.split('/').pop() ?? '' }, body: {} });
  });

  it('[WB56] a message author opens their card; Block asks first, then the card says blocked', async () => {
    await beaPage.goto(`${world.url}/`);
    await signUp(beaPage, fr, `bea_${suffix}`, 'Béa', { profileStep: 'keep' });
    const direct = await cid.client.api.createConversation({ body: { kind: 'direct', username: `bea_${suffix}` } });
    await cid.client.api.sendMessage({ params: { conversationId: direct.conversation.id }, body: { id: crypto.randomBytes(12).toString('base64url'), text: 'Salut Béa, c’est Cid' } });
    await beaPage.getByRole('region', { name: fr.sidebar.direct }).getByText('Cid', { exact: true }).click();
    await messageList(beaPage).getByText('c’est Cid').waitFor();
    const author = messageList(beaPage).getByRole('button', { name: 'Cid', exact: true });
    await author.click();
    const card = beaPage.getByRole('dialog', { name: 'Cid' });
    await card.getByText(`@cid_${suffix}`).waitFor();
    await card.getByRole('button', { name: fr.person.block }).waitFor();
    await screenshot(beaPage, 'desktop-dark-fr-person-card');
    await expectAccessible(beaPage, 'person card');

    await card.getByRole('button', { name: fr.person.block }).click();
    const confirm = beaPage.getByRole('dialog', { name: fr.person.blockTitle.replace('{{name}}', 'Cid') });
    await confirm.waitFor();
    // The safe answer has the focus; Escape closes only the confirmation, and the focus is back on Block.
    expect(await beaPage.evaluate(() => document.activeElement?.textContent)).toBe(fr.common.cancel);
    await expectAccessible(beaPage, 'block confirmation');
    await beaPage.keyboard.press('Escape');
    await expect.poll(() => confirm.count()).toBe(0);
    expect(await card.count()).toBe(1);
    expect(await beaPage.evaluate(() => document.activeElement?.textContent)).toBe(fr.person.block);
    await card.getByRole('button', { name: fr.person.block }).click();
    await confirm.getByRole('button', { name: fr.person.block }).click();
    await card.getByTestId('blocked-badge').waitFor();
    await card.getByRole('button', { name: fr.person.unblock }).waitFor();
    expect((await cid.client.api.listBlocks()).blocked).toEqual([]);
    await beaPage.keyboard.press('Escape');
    await expect.poll(() => card.count()).toBe(0);
    expect(await beaPage.evaluate(() => document.activeElement?.getAttribute('data-person'))).toBe(`cid_${suffix}`);
  });

  it('[WB52] [WB58] [WB19] on the invite, "Skip for now" goes on to a dialog naming the blocked member; Join anyway lands in the group', async () => {
    await beaPage.goto(link);
    await beaPage.getByRole('heading', { name: 'Profiles' }).waitFor();
    await beaPage.getByText(fr.invite.blockedWarning.replace('{{names}}', 'Cid')).waitFor();
    await beaPage.getByRole('button', { name: fr.invite.join }).click();
    const step = beaPage.getByRole('dialog', { name: fr.profile.stepTitle });
    await step.waitFor();
    await screenshot(beaPage, 'desktop-dark-fr-profile-step');
    await expectAccessible(beaPage, 'profile step, dark, French');
    await step.getByRole('button', { name: fr.profile.skip }).click();
    const confirm = beaPage.getByRole('dialog', { name: fr.invite.blockedTitle });
    await confirm.getByText(fr.invite.blockedConfirm.replace('{{names}}', 'Cid')).waitFor();
    await screenshot(beaPage, 'desktop-dark-fr-invite-blocked');
    await expectAccessible(beaPage, 'invite with a blocked member');
    await confirm.getByRole('button', { name: fr.invite.joinAnyway }).click();
    await beaPage.waitForURL(`${world.url}/c/${groupId}`);
    await beaPage.getByRole('heading', { name: 'Profiles' }).waitFor();
  });

  it('[WB56] a member of the group panel opens their card; "Send a message" opens the direct conversation', async () => {
    await beaPage.getByRole('button', { name: fr.group.details, exact: true }).click();
    const panel = beaPage.getByRole('complementary', { name: fr.group.details });
    // Oneself and the assistant have no card.
    expect(await panel.locator(`[data-person="bea_${suffix}"]`).count()).toBe(0);
    expect(await panel.locator('[data-person="assistant"]').count()).toBe(0);
    await panel.locator(`[data-person="cid_${suffix}"]`).click();
    const cidCard = beaPage.getByRole('dialog', { name: 'Cid' });
    await cidCard.getByRole('button', { name: fr.person.unblock }).waitFor();
    expect(await cidCard.getByRole('button', { name: fr.person.message }).isDisabled()).toBe(true);
    // "Send a message" is off, so the focus went to the next control, in the card.
    expect(await focusInDialog(beaPage)).toBe('person-card');
    await beaPage.keyboard.press('Escape');
    // Escape closed the card, not the panel behind it.
    await expect.poll(() => cidCard.count()).toBe(0);
    expect(await panel.count()).toBe(1);

    await panel.locator(`[data-person="ann_${suffix}"]`).click();
    const card = beaPage.getByRole('dialog', { name: 'Ann' });
    await card.locator('img[src^="/api/avatars/"]').waitFor();
    await card.getByRole('button', { name: fr.person.message }).click();
    await expect.poll(() => card.count()).toBe(0);
    await beaPage.getByRole('heading', { name: 'Ann' }).waitFor();
    await beaPage.waitForURL((url) => url.pathname !== `/c/${groupId}`);
    await beaPage.getByRole('region', { name: fr.sidebar.direct }).getByText('Ann', { exact: true }).waitFor();
  });

  it('[WB57] settings: the blocked list with Unblock, and the profile form to edit later', async () => {
    await beaPage.getByRole('button', { name: fr.settings.open, exact: true }).click();
    const blocked = beaPage.getByRole('region', { name: fr.settings.blocked });
    await blocked.locator('[data-blocked-id]').getByText(`@cid_${suffix}`).waitFor();
    await screenshot(beaPage, 'desktop-dark-fr-settings-profile');
    await blocked.scrollIntoViewIfNeeded();
    await screenshot(beaPage, 'desktop-dark-fr-settings-blocked');
    await expectAccessible(beaPage, 'settings with profile and blocked list');
    await blocked.getByRole('button', { name: fr.settings.unblockNamed.replace('{{name}}', 'Cid') }).click();
    await blocked.getByTestId('no-blocked').waitFor();
    // A block made by another client of the account shows in the open list at once (my-blocks-updated).
    const status = await beaPage.evaluate(async (userId) => (await fetch(`/api/blocks/${userId}`, { method: 'PUT' })).status, cid.user.id);
    expect(status).toBeLessThan(300);
    await blocked.locator('[data-blocked-id]').getByText(`@cid_${suffix}`).waitFor();
    await blocked.getByRole('button', { name: fr.settings.unblockNamed.replace('{{name}}', 'Cid') }).click();
    await blocked.getByTestId('no-blocked').waitFor();

    const profile = beaPage.getByRole('region', { name: fr.profile.title });
    await profile.getByLabel(fr.auth.displayName).fill('Béatrice');
    await profile.getByRole('button', { name: fr.profile.save }).click();
    await profile.getByText(fr.settings.saved).waitFor();
    await beaPage.getByRole('navigation', { name: fr.sidebar.label }).getByText('Béatrice', { exact: true }).waitFor();
    // Ann sees the new name live in the group's member list.
    await annPage.getByRole('button', { name: en.group.details, exact: true }).click();
    await annPage.getByRole('complementary', { name: en.group.details }).getByText('Béatrice').waitFor();
    await annPage.getByRole('button', { name: en.common.close, exact: true }).click();
  });

  it('[WB51] [WB57] Ann removes her picture in the settings; the initials come back', async () => {
    await annPage.getByRole('button', { name: en.settings.open, exact: true }).click();
    const profile = annPage.getByRole('region', { name: en.profile.title });
    await profile.getByRole('button', { name: en.profile.removeAvatar }).click();
    await profile.getByText(en.profile.noAvatar).waitFor();
    await expect.poll(() => annPage.getByRole('navigation', { name: en.sidebar.label }).locator('img[src^="/api/avatars/"]').count()).toBe(0);
    await screenshot(annPage, 'desktop-light-en-settings-profile');
    await expectAccessible(annPage, 'settings, light, English');
  });

  it('[WB50] [WB52] on a phone, the profile step fits the screen; the helper skips it once and it does not come back', async () => {
    const phone = await world.browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'fr-FR', colorScheme: 'dark', isMobile: true, hasTouch: true });
    phone.setDefaultTimeout(10_000);
    const page = await phone.newPage();
    problems.push(watchProblems(page));
    await allowAxe(phone, world.url);
    await page.goto(`${world.url}/`);
    await signUp(page, fr, `dan_${suffix}`, 'Dan', { profileStep: 'keep' });
    await page.getByRole('button', { name: fr.shell.openMenu }).click();
    await page.getByRole('button', { name: fr.sidebar.newGroup }).click();
    const step = page.getByRole('dialog', { name: fr.profile.stepTitle });
    await step.waitFor();
    const box = await step.boundingBox();
    expect(box && box.x >= 0 && box.x + box.width <= 390).toBe(true);
    await screenshot(page, 'phone-dark-fr-profile-step');
    await expectAccessible(page, 'phone profile step');
    await step.getByLabel(fr.profile.chooseAvatar).setInputFiles({ name: 'halves.png', mimeType: 'image/png', buffer: halvesPng(400, 200) });
    await step.getByRole('group', { name: fr.profile.cropArea }).waitFor();
    await screenshot(page, 'phone-dark-fr-profile-crop');
    await expectAccessible(page, 'phone cropper');
    await step.getByRole('button', { name: fr.profile.cancelAvatar }).click();
    await step.getByRole('button', { name: fr.profile.skip }).click();
    await page.getByRole('form', { name: fr.sidebar.newGroup }).getByRole('button', { name: fr.common.cancel }).click();
    // Answered once: New group opens its form at once from now on.
    await page.getByRole('button', { name: fr.sidebar.newGroup }).click();
    await page.getByRole('form', { name: fr.sidebar.newGroup }).waitFor();
    expect(await step.count()).toBe(0);
    await phone.close();

    // The helper the other browser tests use answers it by itself.
    const other = await world.browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'en-US', colorScheme: 'light', isMobile: true });
    other.setDefaultTimeout(10_000);
    const otherPage = await other.newPage();
    await otherPage.goto(`${world.url}/`);
    await signUp(otherPage, en, `eve_${suffix}`, 'Eve');
    await otherPage.getByRole('button', { name: en.shell.openMenu }).click();
    await otherPage.getByRole('button', { name: en.sidebar.newGroup }).click();
    await otherPage.getByRole('form', { name: en.sidebar.newGroup }).waitFor();
    expect(await otherPage.getByRole('dialog').count()).toBe(0);
    await otherPage.getByRole('form', { name: en.sidebar.newGroup }).getByRole('button', { name: en.common.cancel }).click();
    await otherPage.getByRole('button', { name: en.settings.open, exact: true }).click();
    await otherPage.getByRole('region', { name: en.profile.title }).getByLabel(en.auth.displayName).waitFor();
    // The drawer wholly off screen, not halfway through its slide.
    const sidebar = otherPage.getByTestId('sidebar');
    await expect.poll(async () => { const box = await sidebar.boundingBox(); return box ? box.x + box.width : 1; }).toBeLessThanOrEqual(0);
    await screenshot(otherPage, 'phone-light-en-settings-profile');
    await allowAxe(other, world.url);
    await expectAccessible(otherPage, 'phone settings, light, English');
    await other.close();
  });

  it('[WB1] no script error and no Content-Security-Policy refusal (the cropper\'s styles are a file)', () => {
    for (const list of problems) expect(list).toEqual([]);
  });
});
