import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { webSite } from '@parley/parley';
import { type RunningServer, type ServerConfig, silentLogger, startServer } from '@parley/server';
import { type Browser, type BrowserContext, chromium, type ConsoleMessage, type Locator, type Page } from 'playwright-core';
import { build } from 'vite';
import type { en } from '../src/i18n/en.js';
import type { fr } from '../src/i18n/fr.js';

export const CHROMIUM = process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium';
const webRoot = path.resolve(import.meta.dirname, '..');
/**
 * Where the screenshots go: a temporary folder, so a test run leaves the tree as it was, or the
 * folder PARLEY_SCREENSHOTS names (relative to the repository), such as `docs/screenshots` to
 * refresh README's pictures.
 */
export const SCREENSHOTS = process.env.PARLEY_SCREENSHOTS
  ? path.resolve(webRoot, '../..', process.env.PARLEY_SCREENSHOTS)
  : fs.mkdtempSync(path.join(os.tmpdir(), 'parley-screenshots-'));

/** Builds the web client from its sources into a fresh folder, as `npm run build` does. */
export async function buildSite(outDir: string): Promise<void> {
  await build({ configFile: path.join(webRoot, 'vite.config.ts'), root: webRoot, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
}

export interface World {
  url: string;
  server: RunningServer;
  browser: Browser;
  close(): Promise<void>;
}

/** A real Parley node on loopback (SQLite in a temp folder) serving a fresh build, and Chromium; `config` adds to the server's. */
export async function startWorld(config: Partial<ServerConfig> = {}): Promise<World> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-e2e-'));
  const siteDir = path.join(dataDir, 'site');
  await buildSite(siteDir);
  let widgetOrigin: string | null = null;
  const site = webSite(siteDir, { widgetOrigin: () => widgetOrigin });
  if (!site) throw new Error('the build wrote no index.html');
  // With its widget origin, on a port of its own, as `parley` starts it.
  const server = await startServer({ config: { port: 0, host: '127.0.0.1', dataDir, durability: 'process', widgetPort: 0, ...config }, logger: silentLogger(), site });
  widgetOrigin = server.widgetOrigin;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  return {
    url: server.url,
    server,
    browser,
    close: async () => {
      await browser.close();
      await server.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Collects what a page should never show: script errors and Content-Security-Policy refusals. */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message: ConsoleMessage) => {
    const text = message.text();
    if (/Content Security Policy|Refused to/i.test(text)) problems.push(`csp: ${text}`);
  });
  return problems;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}

const require = createRequire(import.meta.url);
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_PATH = '/__test/axe.min.js';

/**
 * Lets a context load axe-core from node_modules as a script of the page's own origin: the page's
 * policy allows no inline script, so `addScriptTag` names a path that only the test answers.
 */
export async function allowAxe(context: BrowserContext, url: string): Promise<void> {
  await context.route(`${url}${AXE_PATH}`, (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body: AXE_SOURCE }));
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/**
 * Runs axe-core on the page as it is and returns the serious and critical violations, each as a
 * line naming the rule and the elements, so a failing test says what to fix [WB30].
 */
export async function seriousViolations(page: Page, url: string): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ url: `${url}${AXE_PATH}` });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (context: Document, options: object) => Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map(({ id, impact, help, nodes }) => ({ id, impact, help, nodes: nodes.map(({ target, failureSummary }) => ({ target, failureSummary })) }));
  });
  return violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.impact} ${violation.id} (${violation.help}): ${violation.nodes.map((node) => `${node.target.join(' ')} — ${node.failureSummary ?? ''}`).join(' | ')}`);
}

/** The password of every account the browser tests make. */
export const password = 'correct horse battery staple';

/**
 * Signs a new account up through the page, in the language of `words`, and waits for the sidebar.
 * Then, unless `profileStep` is `'keep'`, it answers the profile step once with "Skip for now"
 * (opened by New group, whose form it cancels), so that a test about something else meets no
 * dialog on its first New group or Join [WB52]; the page is left where it was.
 */
export async function signUp(page: Page, words: typeof en | typeof fr, username: string, displayName: string, options: { profileStep?: 'skip' | 'keep' } = {}): Promise<void> {
  await page.getByRole('button', { name: words.auth.signUp, exact: true }).click();
  await page.getByLabel(words.auth.username).fill(username);
  await page.getByLabel(words.auth.displayName).fill(displayName);
  await page.getByLabel(words.auth.password).fill(password);
  await page.getByRole('button', { name: words.auth.createAccount }).click();
  await page.getByRole('navigation', { name: words.sidebar.label }).waitFor();
  if (options.profileStep !== 'keep') await skipProfileStep(page, words);
}

/** Opens New group (in the drawer on a phone), answers the profile step with "Skip for now" and cancels the form. */
export async function skipProfileStep(page: Page, words: typeof en | typeof fr): Promise<void> {
  const phone = (page.viewportSize()?.width ?? 1280) < 768;
  if (phone) await page.getByRole('button', { name: words.shell.openMenu }).click();
  await page.getByRole('button', { name: words.sidebar.newGroup }).click();
  await page.getByRole('dialog', { name: words.profile.stepTitle }).getByRole('button', { name: words.profile.skip }).click();
  await page.getByRole('form', { name: words.sidebar.newGroup }).getByRole('button', { name: words.common.cancel }).click();
  if (phone) await page.keyboard.press('Escape');
}

export const messageList = (page: Page) => page.getByTestId('message-list');

/**
 * Whether an element of the message list is on screen in it now, without scrolling to it: a list
 * at the bottom follows what arrives [WB9]. False while it is not even rendered (a virtual list
 * renders only what is near the view).
 */
export async function inListView(locator: Locator): Promise<boolean> {
  const shown = locator.evaluate(
    (element) => {
      const scroller = element.closest('[data-virtuoso-scroller]');
      if (!scroller) return false;
      const box = element.getBoundingClientRect();
      const view = scroller.getBoundingClientRect();
      return box.top >= view.top - 1 && box.bottom <= view.bottom + 1;
    },
    undefined,
    { timeout: 500 },
  );
  return shown.catch(() => false);
}

/** Types `text` in the composer and sends it with Enter. */
export async function send(page: Page, words: typeof en | typeof fr, text: string): Promise<void> {
  await page.getByLabel(words.conversation.message, { exact: true }).fill(text);
  await page.keyboard.press('Enter');
}
