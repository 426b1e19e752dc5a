import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium as playwright, type BrowserContext, type Page } from 'playwright-core';
import { chromium, toolPath } from './tools.js';

// Debian's Chromium driven by playwright-core (which downloads no browser of its own), headless
// and cut off from everything but the pages a test opens: no sync, no component updates, no
// background requests, an empty profile that is removed afterwards.

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const chromiumTool = chromium();

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** A fresh headless Chromium with an empty --user-data-dir, and one page in it. */
export async function openBrowser(options: { width?: number; height?: number } = {}): Promise<BrowserSession> {
  const profile = await mkdtemp(join(tmpdir(), 'registry-edge-chromium-'));
  // launchPersistentContext is how playwright passes --user-data-dir (it refuses it in args).
  const context = await playwright.launchPersistentContext(profile, {
    executablePath: toolPath(chromiumTool),
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: options.width ?? 1400, height: options.height ?? 1000 },
    offline: false,
    timeout: 30_000,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Makes the page believe it was hidden or shown again (a background tab, a minimised window),
 * as browsers report it: document.visibilityState and a visibilitychange event.
 */
export async function setVisibility(page: Page, state: 'visible' | 'hidden'): Promise<void> {
  // A string, because the test's TypeScript has no DOM types for a function body.
  await page.evaluate(
    `Object.defineProperty(document, 'visibilityState', { configurable: true, get: function () { return ${JSON.stringify(state)}; } });
     document.dispatchEvent(new Event('visibilitychange'));`,
  );
}

/** Appends every script error and console error the page reports to `errors`. */
export function collectErrors(page: Page, errors: string[]): void {
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
}
