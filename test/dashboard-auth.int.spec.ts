/** Who may use the dashboard: the token (header or login cookie), loopback by default, same-origin actions. */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from 'skein';
import { startEngine } from 'skein/runtime';
import { openBrowser, type TestBrowser } from './support/browser.js';
import { startSkeinEnv, testLogger, type SkeinEnv } from './support/skein-env.js';

const TOKEN = 'a-dashboard-token-for-tests';

let env: SkeinEnv;
let browser: TestBrowser;
beforeAll(async () => {
  [env, browser] = await Promise.all([startSkeinEnv(), openBrowser()]);
});
afterAll(async () => {
  await browser?.close();
  await env?.stop();
});

describe('the dashboard token', () => {
  it('answers 401 without it on pages, assets, /live, /status and actions; /healthz stays open', async () => {
    const { engine } = await env.client({ engine: { http: { port: 0, token: TOKEN } } });
    const base = `http://127.0.0.1:${engine.httpPort}`;
    for (const path of ['/', '/runs', '/assets/client.js', '/live', '/status', '/nowhere'])
      expect((await fetch(`${base}${path}`)).status, path).toBe(401);
    const post = await fetch(`${base}/actions/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'runId=r1',
    });
    expect(post.status).toBe(401);
    expect(
      (await fetch(`${base}/runs`, { headers: { authorization: 'Bearer wrong' } })).status,
    ).toBe(401);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    const authorization = `Bearer ${TOKEN}`;
    expect((await fetch(`${base}/runs`, { headers: { authorization } })).status).toBe(200);
    expect((await fetch(`${base}/status`, { headers: { authorization } })).status).toBe(200);
  });

  it('lets a browser in after /login?token= once, live feed included', async () => {
    const { engine, skein } = await env.client({ engine: { http: { port: 0, token: TOKEN } } });
    const base = `http://127.0.0.1:${engine.httpPort}`;
    const page = await browser.page();
    const refused = await page.goto(`${base}/runs`);
    expect(refused?.status()).toBe(401);
    expect(await page.textContent('body')).toContain('/login?token=');
    expect((await page.goto(`${base}/login?token=wrong`))?.status()).toBe(401);

    await page.goto(`${base}/login?token=${TOKEN}`);
    expect(new URL(page.url()).pathname).toBe('/');
    await page.getByRole('table', { name: 'Runs' }).waitFor();
    // The event stream cannot send a header: the cookie carries the token.
    const task = skein.task({ name: 'seen', fn: () => 1 });
    const ref = await task.runNoWait({});
    await page.getByRole('link', { name: ref.runId }).waitFor({ timeout: 15_000 });
  });

  it('refuses to start on a host other machines reach without a token, and unknown options', async () => {
    const common = { natsUrl: env.url, namespace: 'never', logger: testLogger };
    const previous = process.env.SKEIN_DASHBOARD_TOKEN;
    delete process.env.SKEIN_DASHBOARD_TOKEN;
    try {
      await expect(startEngine({ ...common, http: { port: 0, host: '0.0.0.0' } })).rejects.toThrow(
        /http\.host '0\.0\.0\.0' is reachable from other machines.*set http\.token/,
      );
      await expect(
        startEngine({ ...common, http: { port: 0, tokn: TOKEN } as never }),
      ).rejects.toThrow(ValidationError);
      await expect(
        startEngine({ ...common, http: { port: 0, host: '0.0.0.0', token: 'short' } }),
      ).rejects.toThrow(/at least 16 characters/);
    } finally {
      if (previous !== undefined) process.env.SKEIN_DASHBOARD_TOKEN = previous;
    }
  });

  // The leases, consumers and connection it had started went on without it.
  it('an engine whose port is taken fails to start and leaves nothing running', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    const common = { natsUrl: env.url, namespace: 'busyport', id: 'e1', logger: testLogger };
    try {
      await expect(startEngine({ ...common, http: { port } })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      taken.close();
    }
    // Its id is free again at once: a live engine of that id would be refused.
    const again = await startEngine(common);
    await again.stop();
  });
});

describe('dashboard actions', () => {
  let other: Server;
  afterAll(
    () => new Promise<void>((resolve) => (other ? other.close(() => resolve()) : resolve())),
  );

  it("are refused when another site's page sends them, and taken from the dashboard's own", async () => {
    const { engine, skein } = await env.client({ engine: { http: { port: 0 } } });
    const base = `http://127.0.0.1:${engine.httpPort}`;
    const task = skein.task({ name: 'target', fn: () => 1 });
    const worker = await skein.worker('w', { workflows: [task] });
    await worker.start();
    // Another site (another origin: localhost, another port) whose page posts to the dashboard.
    other = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end(
        `<form method="post" action="${base}/actions/trigger">
           <input type="hidden" name="name" value="target"><button>Win a prize</button></form>`,
      ),
    );
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const port = (other.address() as { port: number }).port;
    const page = await browser.page();
    await page.goto(`http://localhost:${port}/`);
    const [response] = await Promise.all([
      page.waitForResponse(`${base}/actions/trigger`),
      page.getByRole('button', { name: 'Win a prize' }).click(),
    ]);
    expect(response.status()).toBe(403);
    const counts = await skein.runs.counts({ name: 'target' });
    expect(counts.QUEUED + counts.RUNNING + counts.COMPLETED).toBe(0);

    // A program (no Origin, no Sec-Fetch-Site) and the dashboard's own pages are let through.
    const own = await fetch(`${base}/actions/trigger`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
      body: 'name=target&input=%7B%7D',
      redirect: 'manual',
    });
    expect(own.status).toBe(303);
    expect(own.headers.get('location')).toMatch(/^\/runs\//);
  });
});
