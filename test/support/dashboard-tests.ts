/**
 * What the dashboard's browser tests share: a NATS env and a headless browser for the test
 * file (opened before its tests, closed after), an engine with its dashboard per test, and
 * waiting for an element to show.
 */
import { afterAll, beforeAll } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { openBrowser, type TestBrowser } from './browser.js';
import { SOON } from './patience.js';
import { startSkeinEnv, type SkeinClientEnv, type SkeinEnv } from './skein-env.js';

export interface DashboardTests {
  /** A new namespace with an engine serving its dashboard on a free port, and a fresh page. */
  dashboard(): Promise<SkeinClientEnv & { base: string; page: Page }>;
  /** Another page of the file's browser (its own cookies). */
  page(): Promise<Page>;
}

/** Call at the top of a test file: registers the hooks that open and close the env and browser. */
export function dashboardTests(): DashboardTests {
  let env: SkeinEnv | undefined;
  let browser: TestBrowser | undefined;
  beforeAll(async () => {
    [env, browser] = await Promise.all([startSkeinEnv(), openBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await env?.stop();
  });
  return {
    async dashboard() {
      const client = await env!.client({ engine: { http: { port: 0 } } });
      return {
        ...client,
        base: `http://127.0.0.1:${client.engine.httpPort}`,
        page: await browser!.page(),
      };
    },
    page: () => browser!.page(),
  };
}

/** Waits (SOON) until the locator shows. */
export const shown = (locator: Locator) =>
  locator.waitFor({ state: 'visible', timeout: SOON.timeout });
