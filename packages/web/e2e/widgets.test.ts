import crypto from 'node:crypto';
import fs from 'node:fs';
import { startWidgetApp, type WidgetApp } from '@parley/apps/test';
import type { AppCall } from '@parley/protocol';
import { ParleyClient } from '@parley/sdk';
import type { BrowserContext, Frame, FrameLocator, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { en } from '../src/i18n/en.js';
import { fr } from '../src/i18n/fr.js';
import { CHROMIUM, password, screenshot, signUp, startWorld, watchProblems, type World } from './browser.js';

const suffix = crypto.randomBytes(3).toString('hex');
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };
const id = () => crypto.randomUUID().replaceAll('-', '');
/** A first call of an app connects and lists it (its widget is large): waits longer than `expect.poll`'s second. */
const poll = <T,>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 20_000 });

/**
 * Widgets (MCP Apps) [WB74], [AP20]–[AP22], with a real MCP app whose widget is built on ext-apps'
 * `App`: Ann (the administrator, English, light, desktop), Béa (French, dark, desktop) and Cyd
 * (French, light, on a phone) are in a group where the app is on; the assistant's call of its
 * forecast tool shows the widget in the card, for each of them.
 */
describe.skipIf(!fs.existsSync(CHROMIUM))('widgets in the browser', { timeout: 180_000 }, () => {
  let world: World;
  let app: WidgetApp;
  const contexts: BrowserContext[] = [];
  let ann: Page;
  let bea: Page;
  let cyd: Page;
  const problems: string[][] = [];
  const documents: Response[] = [];
  let bot: ParleyClient;
  let annApi: ParleyClient;
  let beaApi: ParleyClient;
  let groupId = '';
  let appId = '';
  let call: AppCall;
  /** The address the isolation test tried to reach from a widget: its refusals are expected. */
  let probed = '';
  const realProblems = (list: string[]) => list.filter((problem) => !probed || !problem.includes(probed));

  /** The widget of a call: the outer frame (the relay), and the widget's own document inside it. */
  const widgetOf = (page: Page, callId: string): FrameLocator => page.locator(`[data-call-id="${callId}"] [data-testid="widget"] iframe`).contentFrame().locator('iframe').contentFrame();
  /** Scrolls a page's timeline to its end until the card of `callId` is rendered (a conversation opens at the first unread message). */
  const reveal = async (page: Page, callId: string) => {
    await page.getByRole('heading', { name: 'Lyon trip' }).waitFor();
    await poll(async () => {
      await page.getByTestId('message-list').evaluate((list) => {
        const scroller = [list, ...list.querySelectorAll('*')].find((element) => element.scrollHeight > element.clientHeight + 1 && getComputedStyle(element).overflowY !== 'visible');
        scroller?.scrollTo(0, scroller.scrollHeight);
      });
      return page.locator(`[data-call-id="${callId}"]`).count();
    }).toBe(1);
  };
  /**
   * Reads something of the newest cards: scrolls the timeline to its end first, since widgets above
   * that change height can move a card out of the rendered range; null when it is not there yet.
   */
  const atEnd = async <T,>(page: Page, read: () => Promise<T>): Promise<T | null> => {
    await page.getByTestId('message-list').evaluate((list) => {
      const scroller = [list, ...list.querySelectorAll('*')].find((element) => element.scrollHeight > element.clientHeight + 1 && getComputedStyle(element).overflowY !== 'visible');
      scroller?.scrollTo(0, scroller.scrollHeight);
    });
    return read().catch(() => null);
  };
  const widgetFrame = (page: Page): Frame => {
    const frame = page.frames().find((item) => item.url().includes('/document/'));
    if (!frame) throw new Error('no widget document in the page');
    return frame;
  };

  beforeAll(async () => {
    // A call held open by the app waits for three pages to load the widget: longer than the default app timeout on a busy machine.
    world = await startWorld({ appTimeoutMs: 120_000 });
    app = await startWidgetApp();
    bot = new ParleyClient({ baseUrl: world.url, token: world.server.assistant.token });
    const settings = [
      { viewport: DESKTOP, locale: 'en-US', colorScheme: 'light' as const },
      { viewport: DESKTOP, locale: 'fr-FR', colorScheme: 'dark' as const },
      { viewport: PHONE, locale: 'fr-FR', colorScheme: 'light' as const },
    ];
    for (const options of settings) {
      const context = await world.browser.newContext(options);
      context.setDefaultTimeout(10_000);
      // Links a widget opens lead nowhere real.
      await context.route('https://forecast.example/**', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>Lyon</title>' }));
      await context.route('http://foreign.test/**', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>Foreign</title><p>foreign</p>' }));
      contexts.push(context);
    }
    [ann, bea, cyd] = await Promise.all(contexts.map((context) => context.newPage())) as [Page, Page, Page];
    for (const page of [ann, bea, cyd]) {
      problems.push(watchProblems(page));
      page.on('response', (response) => {
        if (response.url().includes('/document/')) documents.push(response);
      });
    }
    await ann.goto(`${world.url}/`);
    await signUp(ann, en, `ann_${suffix}`, 'Ann');
    await bea.goto(`${world.url}/`);
    await signUp(bea, fr, `bea_${suffix}`, 'Béa');
    await cyd.goto(`${world.url}/`);
    await signUp(cyd, fr, `cyd_${suffix}`, 'Cyd');
    annApi = (await ParleyClient.signIn(world.url, { username: `ann_${suffix}`, password })).client;
    beaApi = (await ParleyClient.signIn(world.url, { username: `bea_${suffix}`, password })).client;

    const added = await annApi.api.createApp({ body: { name: 'Forecast', url: app.url } });
    appId = added.id;
    await annApi.api.reviewApp({ params: { appId }, body: { decision: 'approve', hash: added.listing!.hash } });
    groupId = (await annApi.api.createConversation({ body: { kind: 'group', title: 'Lyon trip', usernames: [`bea_${suffix}`, `cyd_${suffix}`] } })).conversation.id;
    await annApi.api.setConversationApp({ params: { conversationId: groupId, appId }, body: { enabled: true } });

    // Béa asks; the assistant calls the forecast tool (read-only: it runs at once) and answers.
    const trigger = await beaApi.api.sendMessage({ params: { conversationId: groupId }, body: { id: id(), text: '@assistant quel temps à Lyon ?' } });
    const turn = await bot.api.startTurn({ params: { conversationId: groupId }, body: { id: id(), triggerMessageId: trigger.id } });
    call = await bot.api.callAppTool({ params: { conversationId: groupId, appId }, body: { id: id(), tool: 'show_forecast', arguments: JSON.stringify({ city: 'Lyon' }), turnId: turn.id } });
    expect(call.status).toBe('completed');
    await bot.api.endTurn({ params: { conversationId: groupId, turnId: turn.id }, body: { status: 'completed', text: 'Here is the forecast for Lyon.' } });
  }, 120_000);
  afterAll(async () => {
    await world?.close();
    await app?.close();
  });

  it('[WB74] every member sees the same widget with the tool result, in their own theme and language', async () => {
    for (const page of [ann, bea, cyd]) await page.goto(`${world.url}/c/${groupId}`);
    const expected: [Page, string][] = [
      [ann, 'theme: light · locale: en'],
      [bea, 'theme: dark · locale: fr'],
      [cyd, 'theme: light · locale: fr'],
    ];
    for (const [page, host] of expected) {
      const widget = widgetOf(page, call.id);
      await widget.getByRole('heading', { name: 'Lyon · 19 °C' }).waitFor();
      await poll(() => widget.locator('#host').textContent()).toBe(host);
      expect(await widget.getByText('Wed: rain').count()).toBe(1);
      await poll(() => page.locator(`[data-call-id="${call.id}"] [data-testid="widget"]`).getAttribute('data-widget-ready')).toBe('true');
    }
    // The widget asked for its height: the frame is as tall as its content, not the first guess.
    await poll(async () => (await ann.locator(`[data-call-id="${call.id}"] [data-testid="widget"] iframe`).boundingBox())?.height ?? 0).toBeGreaterThan(130);
    for (const [page, name] of [[ann, 'desktop-light-en-widget'], [bea, 'desktop-dark-fr-widget'], [cyd, 'phone-light-fr-widget']] as const) {
      await page.locator(`[data-call-id="${call.id}"]`).scrollIntoViewIfNeeded();
      await screenshot(page, name);
    }
    // Ann switches her page to dark: her widget follows.
    await ann.emulateMedia({ colorScheme: 'dark' });
    await poll(() => widgetOf(ann, call.id).locator('#host').textContent()).toBe('theme: dark · locale: en');
    await screenshot(ann, 'desktop-dark-en-widget');
    await ann.emulateMedia({ colorScheme: 'light' });
    await poll(() => widgetOf(ann, call.id).locator('#host').textContent()).toBe('theme: light · locale: en');
    for (const [index, list] of problems.entries()) expect(realProblems(list), `page ${index}`).toEqual([]);
  });

  it('[WB91] a card asks for one widget ticket; leaving it, the host tears the widget down and waits for its answer before the frame goes', async () => {
    const tickets: string[] = [];
    const count = (request: { method: () => string; url: () => string }) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname.endsWith(`/app-calls/${call.id}/widget`)) tickets.push(request.url());
    };
    const widgetSays: string[] = [];
    const listen = (message: { text: () => string }) => {
      if (message.text().startsWith('forecast-widget:')) widgetSays.push(message.text());
    };
    ann.on('request', count);
    ann.on('console', listen);
    try {
      await ann.goto(`${world.url}/c/${groupId}`);
      const card = ann.locator(`[data-call-id="${call.id}"] [data-testid="widget"]`);
      await poll(() => card.getAttribute('data-widget-ready')).toBe('true');
      await widgetOf(ann, call.id).getByRole('heading', { name: 'Lyon · 19 °C' }).waitFor();
      // Settled: nothing more is asked for.
      await ann.waitForTimeout(1000);
      expect(tickets).toHaveLength(1);

      // Another conversation, in the same page: the card leaves.
      const other = (await annApi.api.createConversation({ body: { kind: 'group', title: 'Elsewhere' } })).conversation.id;
      await ann.getByTestId('sidebar').getByRole('button', { name: /Elsewhere/ }).click();
      await ann.getByRole('heading', { name: 'Elsewhere' }).waitFor();
      expect(new URL(ann.url()).pathname).toBe(`/c/${other}`);
      // The widget heard ui/resource-teardown and finished its own work (it takes a while) before its frame was removed.
      await poll(() => widgetSays).toEqual(['forecast-widget: teardown asked', 'forecast-widget: teardown done']);
      await poll(() => ann.locator('[data-testid="widget"]').count()).toBe(0);
      await poll(() => ann.frames().filter((frame) => frame.url().includes('/document/')).length).toBe(0);
    } finally {
      ann.off('request', count);
      ann.off('console', listen);
    }
    // Back in the group, for the tests below.
    await ann.goto(`${world.url}/c/${groupId}`);
    await poll(() => ann.locator(`[data-call-id="${call.id}"] [data-testid="widget"]`).getAttribute('data-widget-ready')).toBe('true');
  });

  it('[WB74] the widget grows when its content does', async () => {
    const frame = ann.locator(`[data-call-id="${call.id}"] [data-testid="widget"] iframe`);
    const before = (await frame.boundingBox())?.height ?? 0;
    await widgetOf(ann, call.id).getByRole('button', { name: 'More' }).click();
    await poll(async () => (await frame.boundingBox())?.height ?? 0).toBeGreaterThan(before + 40);
  });

  it("[WB74] the widget calls its own app's tools through Parley: a read-only one runs, one that changes things waits for its member's confirmation", async () => {
    const widget = widgetOf(bea, call.id);
    await widget.getByRole('button', { name: 'Refresh' }).click();
    await poll(() => widget.getByTestId('widget-status').textContent()).toBe('refreshed: Lyon is 20 °C now');
    expect(app.calls.map((item) => item.tool)).toEqual(['show_forecast', 'refresh_forecast']);
    // It is a call of Béa's, recorded for the group like any other.
    const calls = (await annApi.api.listAppCalls({ params: { conversationId: groupId } })).calls;
    const refresh = calls.find((item) => item.tool === 'refresh_forecast');
    expect(refresh).toMatchObject({ askedBy: (await beaApi.api.getMe()).id, requestedBy: (await beaApi.api.getMe()).id, approval: 'read-only', status: 'completed' });
    await ann.locator(`[data-call-id="${refresh!.id}"]`).waitFor();

    await widget.getByRole('button', { name: 'Pin city' }).click();
    await poll(() => widget.getByTestId('widget-status').textContent()).toBe('pinning');
    const pin = async () => (await annApi.api.listAppCalls({ params: { conversationId: groupId } })).calls.find((item) => item.tool === 'pin_city');
    await poll(async () => (await pin())?.status).toBe('pending');
    const pinId = (await pin())!.id;
    // Only Béa confirms; Ann reads whom it waits for, and nothing ran.
    await ann.locator(`[data-call-id="${pinId}"]`).getByTestId('call-waiting').waitFor();
    expect(app.calls.map((item) => item.tool)).not.toContain('pin_city');
    const card = bea.locator(`[data-call-id="${pinId}"]`);
    await card.getByRole('button', { name: fr.apps.call.approveOnce }).click();
    await poll(() => widget.getByTestId('widget-status').textContent()).toBe('pinned: Lyon pinned');
    expect(app.calls.at(-1)).toEqual({ tool: 'pin_city', arguments: { city: 'Lyon' } });

    // Denied, the widget hears that it was refused.
    await widget.getByRole('button', { name: 'Pin city' }).click();
    await poll(async () => (await annApi.api.listAppCalls({ params: { conversationId: groupId } })).calls.filter((item) => item.tool === 'pin_city' && item.status === 'pending').length).toBe(1);
    const second = (await annApi.api.listAppCalls({ params: { conversationId: groupId } })).calls.find((item) => item.tool === 'pin_city' && item.status === 'pending')!;
    // (Béa denies it from another tab of hers: the same decision her card sends.)
    await beaApi.api.decideAppCall({ params: { conversationId: groupId, callId: second.id }, body: { decision: 'deny' } });
    await poll(() => widget.getByTestId('widget-status').textContent()).toMatch(/^refused: denied/);
    expect(app.calls.filter((item) => item.tool === 'pin_city')).toHaveLength(1);
  });

  it('[WB74] a link opens only after the member confirms, in a new tab; full screen when the widget asks', async () => {
    await ann.locator(`[data-call-id="${call.id}"]`).scrollIntoViewIfNeeded();
    const widget = widgetOf(ann, call.id);
    await widget.getByRole('button', { name: 'Open forecast' }).click();
    const dialog = ann.getByRole('dialog', { name: en.apps.widget.openLinkTitle });
    await dialog.getByText('https://forecast.example/lyon', { exact: false }).waitFor();
    await screenshot(ann, 'desktop-light-en-widget-link');
    await dialog.getByRole('button', { name: en.common.cancel }).click();
    await poll(() => widget.getByTestId('widget-status').textContent()).toBe('link refused');

    await widget.getByRole('button', { name: 'Open forecast' }).click();
    const opened = ann.context().waitForEvent('page');
    await dialog.getByRole('button', { name: en.apps.widget.openLink }).click();
    const tab = await opened;
    await poll(() => tab.url()).toBe('https://forecast.example/lyon');
    // No opener: the new tab cannot reach back into Parley.
    expect(await tab.evaluate(() => window.opener)).toBeNull();
    await tab.close();
    await poll(() => widget.getByTestId('widget-status').textContent()).toBe('link opened');

    // In French for Béa.
    const beaWidget = widgetOf(bea, call.id);
    await bea.locator(`[data-call-id="${call.id}"]`).scrollIntoViewIfNeeded();
    await beaWidget.getByRole('button', { name: 'Open forecast' }).click();
    const frDialog = bea.getByRole('dialog', { name: fr.apps.widget.openLinkTitle });
    await frDialog.getByRole('button', { name: fr.apps.widget.openLink }).waitFor();
    await screenshot(bea, 'desktop-dark-fr-widget-link');
    await frDialog.getByRole('button', { name: fr.common.cancel }).click();

    // Full screen, and back.
    await widget.getByRole('button', { name: 'Full screen' }).click();
    const holder = ann.locator(`[data-call-id="${call.id}"] [data-testid="widget"]`);
    await poll(() => holder.getAttribute('data-widget-mode')).toBe('fullscreen');
    await poll(() => widget.locator('#mode').textContent()).toBe('mode: fullscreen');
    const box = await holder.boundingBox();
    expect(box?.width).toBe(DESKTOP.width);
    expect(box?.height).toBe(DESKTOP.height);
    await screenshot(ann, 'desktop-light-en-widget-fullscreen');
    await ann.getByRole('button', { name: en.apps.widget.exitFullscreen }).click();
    await poll(() => holder.getAttribute('data-widget-mode')).toBe('inline');
    await poll(() => widget.locator('#mode').textContent()).toBe('mode: inline');
  });

  it('[AP20] [AP21] the widget cannot reach the page, its cookies or the API, nor download; its document carries the policy', async () => {
    const inside = widgetFrame(ann);
    const probes = await inside.evaluate(async (api) => {
      const attempt = async (run: () => unknown) => {
        try {
          const value = await run();
          return value === null || value === undefined ? 'nothing' : 'reached';
        } catch {
          return 'blocked';
        }
      };
      return {
        parent: await attempt(() => window.parent.document.body),
        top: await attempt(() => window.top?.document.body),
        cookie: await attempt(() => document.cookie),
        storage: await attempt(() => window.localStorage),
        api: await attempt(() => fetch(`${api}/api/me`, { credentials: 'include' })),
        popup: await attempt(() => window.open('https://forecast.example/popup')),
        origin: window.origin,
      };
    }, world.url);
    expect(probes).toEqual({ parent: 'blocked', top: 'blocked', cookie: 'blocked', storage: 'blocked', api: 'blocked', popup: 'nothing', origin: 'null' });
    // Nor can it move the page itself.
    await inside.evaluate(() => {
      try {
        window.top!.location.href = 'https://forecast.example/away';
      } catch {
        // refused
      }
    });
    // Nor start a download: a link with `download`, and a file it makes itself.
    const downloads: string[] = [];
    const onDownload = (download: { suggestedFilename(): string }) => downloads.push(download.suggestedFilename());
    ann.on('download', onDownload);
    await inside.evaluate(() => {
      for (const href of ['data:text/plain,secret', URL.createObjectURL(new Blob(['secret'], { type: 'application/octet-stream' }))]) {
        const link = document.createElement('a');
        link.href = href;
        link.download = 'report.txt';
        document.body.append(link);
        link.click();
        link.remove();
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(downloads).toEqual([]);
    // The probe would see one: the same link clicked by the page itself downloads.
    await ann.evaluate(() => {
      const link = document.createElement('a');
      link.href = 'data:text/plain,control';
      link.download = 'control.txt';
      document.body.append(link);
      link.click();
      link.remove();
    });
    await poll(() => downloads).toEqual(['control.txt']);
    ann.off('download', onDownload);
    expect(new URL(ann.url()).pathname).toBe(`/c/${groupId}`);

    const served = documents.find((response) => response.status() === 200);
    const policy = (await served?.allHeaders())?.['content-security-policy'] ?? '';
    expect(policy).toContain('connect-src https://api.forecast.example');
    expect(policy).toContain("script-src 'unsafe-inline' https://cdn.forecast.example");
    expect(policy).toContain('sandbox allow-scripts allow-forms');
    expect(policy).not.toContain(world.url.replace('http://', 'https://'));
    // The page frames only the widget origin, a port apart from Parley's.
    const pagePolicy = (await (await ann.request.get(`${world.url}/`)).headersArray()).find((header) => header.name.toLowerCase() === 'content-security-policy')?.value;
    expect(pagePolicy).toContain(`frame-src ${world.server.widgetOrigin}`);
    // The browser reports the API refused by the widget's policy; those refusals, provoked on purpose, are not problems of the page.
    await poll(() => problems[0]!.some((problem) => problem.includes(`${world.url}/api/me`) && problem.includes('connect-src https://api.forecast.example'))).toBe(true);
    probed = `${world.url}/api/me`;
  });

  it('[AP22] messages from a foreign origin are ignored by the page, the relay and the widget; the page itself is heard', async () => {
    const widget = widgetOf(ann, call.id);
    const heading = widget.getByRole('heading', { name: 'Lyon · 19 °C' });
    await heading.waitFor();
    const opened = ann.context().waitForEvent('page');
    await ann.evaluate(() => void window.open('http://foreign.test/'));
    const foreign = await opened;
    await foreign.waitForLoadState();
    await foreign.evaluate(() => {
      const fake = { jsonrpc: '2.0', method: 'ui/notifications/tool-result', params: { content: [], structuredContent: { city: 'FAKE', temperature: -99 } } };
      const link = { jsonrpc: '2.0', id: 901, method: 'ui/open-link', params: { url: 'https://evil.example/' } };
      const page = window.opener as Window;
      page.postMessage(link, '*');
      for (let index = 0; index < page.frames.length; index += 1) {
        const relay = page.frames[index]!;
        relay.postMessage(fake, '*');
        relay.postMessage(link, '*');
        for (let inner = 0; inner < relay.frames.length; inner += 1) relay.frames[inner]!.postMessage(fake, '*');
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await heading.count()).toBe(1);
    expect(await widget.getByRole('heading', { name: /FAKE/ }).count()).toBe(0);
    expect(await ann.getByRole('dialog').count()).toBe(0);
    await foreign.close();

    // The same message from the page's own origin is relayed: the origin is what kept it out.
    await ann.locator(`[data-call-id="${call.id}"] [data-testid="widget"] iframe`).evaluate((frame, origin) => {
      const fake = { jsonrpc: '2.0', method: 'ui/notifications/tool-result', params: { content: [], structuredContent: { city: 'Relayed', temperature: 1 } } };
      (frame as HTMLIFrameElement).contentWindow!.postMessage(fake, origin);
    }, world.server.widgetOrigin!);
    await widget.getByRole('heading', { name: 'Relayed · 1 °C' }).waitFor();
  });

  it('[WB74] the widget goes when its card does', async () => {
    expect(ann.frames().some((frame) => frame.url().includes('/document/'))).toBe(true);
    await ann.goto(`${world.url}/`);
    await ann.getByRole('navigation', { name: en.sidebar.label }).waitFor();
    expect(ann.frames().some((frame) => frame.url().includes('/document/'))).toBe(false);
    for (const [index, list] of problems.entries()) expect(realProblems(list), `page ${index}`).toEqual([]);
  });

  it('[AP23] a widget written for the OpenAI Apps SDK gets window.openai on the same bridge: output, theme and language, tool calls, links', async () => {
    const trigger = await annApi.api.sendMessage({ params: { conversationId: groupId }, body: { id: id(), text: '@assistant radar for Nice?' } });
    const turn = await bot.api.startTurn({ params: { conversationId: groupId }, body: { id: id(), triggerMessageId: trigger.id } });
    const radar = await bot.api.callAppTool({ params: { conversationId: groupId, appId }, body: { id: id(), tool: 'show_radar', arguments: JSON.stringify({ city: 'Nice' }), turnId: turn.id } });
    await bot.api.endTurn({ params: { conversationId: groupId, turnId: turn.id }, body: { status: 'completed', text: 'Rain in Nice.' } });
    await Promise.all([ann, bea].map((page) => page.goto(`${world.url}/c/${groupId}`)));
    for (const page of [ann, bea]) await reveal(page, radar.id);
    const annRadar = widgetOf(ann, radar.id);
    await poll(() => atEnd(ann, () => annRadar.locator('#radar').textContent({ timeout: 2000 }))).toBe('Radar: Nice, 4 mm');
    await poll(() => atEnd(ann, () => annRadar.locator('#globals').textContent({ timeout: 2000 }))).toBe('openai: light · en · inline · input Nice');
    await poll(() => atEnd(bea, () => widgetOf(bea, radar.id).locator('#globals').textContent({ timeout: 2000 }))).toBe('openai: dark · fr · inline · input Nice');
    await screenshot(bea, 'desktop-dark-fr-widget-openai');

    await annRadar.getByRole('button', { name: 'Rain again' }).click();
    await poll(() => annRadar.locator('#said').textContent()).toBe('called: Nice is 20 °C now');
    expect(app.calls.at(-1)).toEqual({ tool: 'refresh_forecast', arguments: { city: 'Nice' } });

    await annRadar.getByRole('button', { name: 'Radar site' }).click();
    const dialog = ann.getByRole('dialog', { name: en.apps.widget.openLinkTitle });
    await dialog.getByText('https://forecast.example/radar', { exact: false }).waitFor();
    await dialog.getByRole('button', { name: en.common.cancel }).click();
    await poll(() => annRadar.locator('#said').textContent()).toBe('not opened');
    for (const [index, list] of problems.entries()) expect(realProblems(list), `page ${index}`).toEqual([]);
  });

  it('[WB74] a call still running shows its widget with the input to everyone, and the result reaches every widget live', async () => {
    const trigger = await beaApi.api.sendMessage({ params: { conversationId: groupId }, body: { id: id(), text: '@assistant et à Nice ?' } });
    const turn = await bot.api.startTurn({ params: { conversationId: groupId }, body: { id: id(), triggerMessageId: trigger.id } });
    const running = bot.api.callAppTool({
      params: { conversationId: groupId, appId },
      body: { id: id(), tool: 'show_forecast', arguments: JSON.stringify({ city: 'Nice', hold: true }), turnId: turn.id },
    });
    const find = async () => (await annApi.api.listAppCalls({ params: { conversationId: groupId } })).calls.find((item) => item.tool === 'show_forecast' && item.arguments.city === 'Nice');
    await poll(async () => (await find())?.status).toBe('running');
    const nice = (await find())!;
    // Each member opens the group while the call runs (at their first unread message) and scrolls to its card, the newest item.
    await Promise.all([ann, bea, cyd].map((page) => page.goto(`${world.url}/c/${groupId}`)));
    for (const page of [ann, bea, cyd]) await reveal(page, nice.id);
    // The app holds its answer until every member's widget shows the input.
    for (const page of [ann, bea, cyd]) {
      await expect.poll(() => atEnd(page, () => widgetOf(page, nice.id).locator('#status').textContent({ timeout: 2000 })), { timeout: 60_000 }).toBe('input: Nice');
    }
    expect((await find())?.status).toBe('running');
    app.release();
    expect((await running).status).toBe('completed');
    for (const page of [ann, bea, cyd]) await poll(() => atEnd(page, () => widgetOf(page, nice.id).locator('h1').textContent({ timeout: 2000 }))).toBe('Nice · 19 °C');
    await bot.api.endTurn({ params: { conversationId: groupId, turnId: turn.id }, body: { status: 'completed', text: 'And Nice.' } });
    for (const [index, list] of problems.entries()) expect(realProblems(list), `page ${index}`).toEqual([]);
  });
});
