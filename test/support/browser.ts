/**
 * Headless Chromium for the dashboard's browser tests (playwright-core, Debian's `chromium`:
 * Playwright's own browser download does not work on these machines; `.ci/run` installs it).
 *
 *   const browser = await openBrowser();       // in beforeAll
 *   const page = await browser.page();         // a fresh context (cookies) per page
 *   ...
 *   await browser.close();                     // in afterAll
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

export interface TestBrowser {
  /** A new page in a context of its own, so pages do not share cookies. */
  page(): Promise<Page>;
  close(): Promise<void>;
}

export async function openBrowser(): Promise<TestBrowser> {
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  const contexts: BrowserContext[] = [];
  return {
    async page() {
      const context = await browser.newContext();
      contexts.push(context);
      return context.newPage();
    },
    async close() {
      await Promise.allSettled(contexts.map((c) => c.close()));
      await browser.close();
    },
  };
}
