// Launches Debian's chromium headless through playwright-core with the
// flags the project requires and a fresh user-data-dir, removed at close.
import {mkdtempSync, rmSync, mkdirSync, existsSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, dirname} from 'node:path';
import {fileURLToPath} from 'node:url';

export const CHROMIUM = process.env.BERTH_CHROMIUM || '/usr/bin/chromium';
export const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'screenshots');
export const UI_STATIC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'ui-static');

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// Why the browser tests cannot run here, or null.
export async function browserMissing() {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} not installed (scripts/install-deps installs chromium)`;
  try { await import('playwright-core'); } catch { return 'playwright-core not installed (scripts/install-deps runs npm ci in test/)'; }
  return null;
}

// The browser tests run in every `make check` (scripts/install-deps
// installs chromium and playwright-core): a missing browser is an error,
// not a skip. Only BERTH_SKIP_BROWSER=1 skips them; the reason is returned.
export async function browserSkip() {
  if (process.env.BERTH_SKIP_BROWSER) return 'BERTH_SKIP_BROWSER is set';
  const missing = await browserMissing();
  if (missing) throw new Error(`browser tests cannot run: ${missing} (or set BERTH_SKIP_BROWSER=1)`);
  return false;
}

export async function launch() {
  const {chromium} = await import('playwright-core');
  const dir = mkdtempSync(join(tmpdir(), 'berth-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM, headless: true, args: FLAGS,
    viewport: {width: 1440, height: 900}, timeout: 60000,
  });
  context.setDefaultTimeout(15000);
  const errors = [];
  const close = async () => {
    await context.close().catch(() => {});
    rmSync(dir, {recursive: true, force: true});
  };
  return {context, errors, close};
}

// A new page that records console errors, page errors and CSP violations.
export async function newPage(b) {
  const page = await b.context.newPage();
  page.on('pageerror', (e) => b.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') b.errors.push(`console: ${m.text()}`); });
  return page;
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, {recursive: true});
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({colorScheme: scheme});
    await page.screenshot({path: join(SCREENSHOTS, `${name}-${scheme}.png`)});
  }
  await page.emulateMedia({colorScheme: 'light'});
}
