import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's `chromium` package (installed by .ci/run); CHROMIUM env overrides. */
export function findChromium(): string | undefined {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((c): c is string => c !== undefined && c !== '' && existsSync(c));
}

export const CHROMIUM_MISSING =
  'headless Chromium not found (apt-get install -y chromium, or set CHROMIUM=/path/to/chromium)';

/** Headless Chromium driven by playwright-core (no browser download: the system's executable). */
export async function launchChromium(): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error(CHROMIUM_MISSING);
  return chromium.launch({ executablePath, headless: true });
}

export interface LoadedPage {
  page: Page;
  /** URLs the page asked for besides the report file itself (a self-contained report asks for none). */
  requests: string[];
  /** Uncaught script errors and console errors. */
  errors: string[];
}

/** Opens a local HTML file with the network blocked, recording every request and script error. */
export async function openFile(browser: Browser, file: string): Promise<LoadedPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, offline: true });
  const page = await context.newPage();
  const url = `file://${file}`;
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => {
    if (r.url() !== url) requests.push(r.url());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(url);
  return { page, requests, errors };
}
