/** The dashboard's other pages in a real browser: workers, events, crons and schedules, flow control, trigger. */
import { describe, expect, it, vi } from 'vitest';
import type { Locator } from 'playwright-core';
import { gate } from './fixtures/gate.js';
import { dashboardTests, shown } from './support/dashboard-tests.js';
import { SOON } from './support/patience.js';

const { dashboard } = dashboardTests();
const rowWith = (table: Locator, text: string) =>
  table
    .getByRole('row')
    .filter({ has: table.page().getByRole('rowheader', { name: text, exact: true }) });

describe('the dashboard pages', () => {
  it('workers: name, status, slots, labels, what it serves', async () => {
    const { skein, base, page } = await dashboard();
    const greet = skein.task({ name: 'greet', fn: () => 'hi' });
    const worker = await skein.worker('gpu-box', {
      workflows: [greet],
      slots: 3,
      labels: { gpu: 'a100' },
    });
    await worker.start();
    await page.goto(`${base}/workers`);
    const row = rowWith(page.getByRole('table', { name: 'Workers' }), 'gpu-box');
    await shown(row.getByRole('cell', { name: worker.id }));
    await shown(row.getByRole('cell', { name: 'ACTIVE' }));
    await shown(row.getByRole('cell', { name: 'gpu=a100' }));
    await shown(row.getByRole('cell', { name: 'greet' }));
    await shown(row.getByRole('cell', { name: '3', exact: true }));
  });

  it('events: a pushed event with its payload and the run it started', async () => {
    const { skein, base, page } = await dashboard();
    const onPaid = skein.task({ name: 'on-paid', onEvents: ['order:paid'], fn: () => 'noted' });
    await (await skein.worker('w', { workflows: [onPaid] })).start();
    await page.goto(`${base}/events`);
    const form = page.getByRole('form', { name: 'Push an event' });
    await form.getByLabel('Event key').fill('order:paid');
    await form.getByLabel('Payload (JSON)').fill('{"orderId":"o-42"}');
    await form.getByRole('button', { name: 'Push event' }).click();
    const row = rowWith(page.getByRole('table', { name: 'Events' }), 'order:paid');
    await shown(row.getByText('"orderId":"o-42"'));
    const event = await vi.waitFor(async () => {
      const [pushed] = await skein.events.list({ key: 'order:paid' });
      expect(pushed?.runIds).toHaveLength(1);
      return pushed!;
    }, SOON);
    await page.reload();
    await row.getByRole('link', { name: event.runIds[0] }).click();
    await shown(page.getByRole('img', { name: 'on-paid: COMPLETED' }));
  });

  it('crons and schedules: next run, and Delete removes a cron', async () => {
    const { skein, base, page } = await dashboard();
    const nightly = skein.task({ name: 'nightly-report', fn: () => 'ok' });
    await (await skein.worker('w', { workflows: [nightly] })).start();
    await nightly.createCron('nightly', '0 2 * * *');
    await nightly.schedule(new Date(Date.now() + 3_600_000), {});
    await page.goto(`${base}/schedules`);
    const crons = page.getByRole('table', { name: 'Crons' });
    const row = rowWith(crons, 'nightly');
    await shown(row.getByRole('cell', { name: 'nightly-report', exact: true }));
    await shown(row.getByText('0 2 * * *'));
    await shown(
      rowWith(page.getByRole('table', { name: 'Schedules' }), 'nightly-report').getByText(
        'SCHEDULED',
      ),
    );
    await row.getByRole('button', { name: 'Delete' }).click();
    await shown(page.getByText('No crons.'));
    await expect(skein.crons.list()).resolves.toEqual([]);
  });

  it('flow control: a concurrency key with its holder and waiter; a rate limit', async () => {
    const { skein, base, page } = await dashboard();
    const hold = gate();
    const serve = skein.task({
      name: 'serve',
      concurrency: { expression: 'input.customer', maxRuns: 1 },
      fn: async () => (await hold.promise, 'served'),
    });
    await (await skein.worker('w', { workflows: [serve], slots: 5 })).start();
    await skein.rateLimits.upsert({ key: 'openai', limit: 10, duration: 'minute' });
    const first = await serve.runNoWait({ customer: 'cust-7' });
    await vi.waitFor(async () => {
      expect((await skein.concurrency.list())[0]?.holders).toEqual([first.runId]);
    }, SOON);
    const second = await serve.runNoWait({ customer: 'cust-7' });
    await vi.waitFor(async () => {
      expect((await skein.concurrency.list())[0]?.waiters).toEqual([second.runId]);
    }, SOON);

    await page.goto(`${base}/flow`);
    const row = rowWith(page.getByRole('table', { name: 'Concurrency keys' }), 'cust-7');
    await shown(row.getByRole('cell', { name: '1 of 1' }));
    await shown(row.getByRole('link', { name: first.runId }));
    await shown(row.getByRole('link', { name: second.runId }));
    const limit = rowWith(page.getByRole('table', { name: 'Rate limits' }), 'openai');
    await shown(limit.getByRole('cell', { name: '0 of 10' }));
    hold.open();
    await Promise.all([first.result(), second.result()]);
  });

  it('trigger: a name and JSON input start a run, shown on its page', async () => {
    const { skein, base, page } = await dashboard();
    const double = skein.task({
      name: 'double',
      fn: (input: { n: number }) => ({ n: input.n * 2 }),
    });
    await (await skein.worker('w', { workflows: [double] })).start();
    await page.goto(`${base}/trigger`);
    await shown(page.getByRole('link', { name: 'double' }));
    await page.getByLabel('Task or workflow name').fill('double');
    await page.getByLabel('Input (JSON)').fill('{"n": 21}');
    await page.getByRole('button', { name: 'Trigger' }).click();
    await shown(page.getByRole('img', { name: 'double: COMPLETED' }));
    await shown(page.getByLabel('Output').getByText('"n": 42'));
  });
});
