/**
 * `npm run screenshots`: the README's pictures of the dashboard, made by the browser the tests
 * use. Starts a nats-server, an engine serving the dashboard, a worker and a few example runs
 * (completed, retried, failed, waiting for an approval), then writes docs/images/runs-page.png
 * and docs/images/run-page.png from headless Chromium.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { NonRetryableError, Skein, type RunRef } from 'skein';
import { startEngine } from 'skein/runtime';
import { openBrowser } from '../test/support/browser.js';
import { startNatsServer } from '../test/support/nats-server.js';

const images = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'images');
const VIEWPORT = { width: 1280, height: 860 };

async function exampleRuns(skein: Skein): Promise<{ shown: string; all: RunRef<unknown>[] }> {
  const attempts = new Map<string, number>();
  const order = skein.workflow<{ orderId: string; amount: number }>({ name: 'order' });
  const validate = order.task({
    name: 'validate',
    fn: (input, ctx) => {
      ctx.log(`validating order ${input.orderId}`);
      return { ok: true };
    },
  });
  const charge = order.task({
    name: 'charge',
    parents: [validate],
    retries: 2,
    fn: (input, ctx) => {
      const n = (attempts.get(input.orderId) ?? 0) + 1;
      attempts.set(input.orderId, n);
      if (input.amount > 1000) throw new NonRetryableError('card declined: over the limit');
      if (input.orderId.endsWith('2') && n === 1) throw new Error('payment gateway timed out');
      ctx.log(`charged ${input.amount} EUR (attempt ${n})`);
      return { chargeId: `ch_${input.orderId}` };
    },
  });
  const reserve = order.task({
    name: 'reserve-stock',
    parents: [validate],
    fn: (_input, ctx) => {
      ctx.log('2 items reserved');
      return { reserved: 2 };
    },
  });
  order.task({
    name: 'ship',
    parents: [charge, reserve],
    waitFor: [{ eventKey: 'order:approved' }],
    fn: (input, ctx) => {
      ctx.log(`label printed for ${input.orderId}`);
      return { tracking: `TRK-${input.orderId}` };
    },
  });
  const email = skein.task({
    name: 'send-email',
    fn: async (input: { to: string }) => ({ sent: input.to }),
  });
  const worker = await skein.worker('worker-1', {
    workflows: [order, email],
    labels: { region: 'eu' },
  });
  await worker.start();

  const all: RunRef<unknown>[] = [];
  for (const to of ['ada@example.com', 'alan@example.com', 'grace@example.com'])
    all.push(await email.runNoWait({ to }));
  const shown = await order.runNoWait({ orderId: 'o-1002', amount: 80 });
  all.push(shown);
  all.push(await order.runNoWait({ orderId: 'o-1003', amount: 4200 }));
  all.push(await order.runNoWait({ orderId: 'o-1004', amount: 25 }));
  // Two approvals: the first orders waiting for one ship; the last stays waiting.
  await waitUntil(async () =>
    (await skein.runs.get(shown.runId)).tasks.some((t) => t.waitingFor?.startsWith('event')),
  );
  await skein.events.push('order:approved', { by: 'ops' });
  await shown.result();
  all.push(await email.runNoWait({ to: 'edsger@example.com' }));
  all.push(await order.runNoWait({ orderId: 'o-1005', amount: 60 }));
  return { shown: shown.runId, all };
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until)
      throw new Error('screenshots: the example runs did not get there in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main() {
  mkdirSync(images, { recursive: true });
  const logger = pino({ level: process.env.SKEIN_LOG_LEVEL ?? 'warn' });
  const namespace = `shots${randomBytes(3).toString('hex')}`;
  const nats = await startNatsServer();
  const engine = await startEngine({ natsUrl: nats.url, namespace, logger, http: { port: 0 } });
  const skein = Skein.init({ natsUrl: nats.url, namespace, logger });
  const browser = await openBrowser();
  try {
    const { shown } = await exampleRuns(skein);
    const base = `http://127.0.0.1:${engine.httpPort}`;
    const page = await browser.page();
    await page.setViewportSize(VIEWPORT);
    await page.goto(`${base}/runs`);
    await page.getByRole('table', { name: 'Runs' }).getByRole('row').nth(6).waitFor();
    await page.screenshot({ path: resolve(images, 'runs-page.png') });
    await page.goto(`${base}/runs/${shown}`);
    await page.getByRole('img', { name: 'ship: COMPLETED' }).waitFor();
    await page.setViewportSize({ width: VIEWPORT.width, height: 1500 });
    await page.screenshot({ path: resolve(images, 'run-page.png') });
    console.log(`screenshots: wrote ${images}/runs-page.png and run-page.png`);
  } finally {
    await browser.close();
    await skein.close();
    await engine.stop();
    await nats.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
