/** The runs page in a real browser: live rows, filters in the URL, bulk cancel by filter. */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { gate } from './fixtures/gate.js';
import { dashboardTests, shown } from './support/dashboard-tests.js';

const { dashboard, page: newPage } = dashboardTests();

const runsTable = (page: Page) => page.getByRole('table', { name: 'Runs' });
const rowOf = (page: Page, runId: string) =>
  runsTable(page)
    .getByRole('row')
    .filter({ has: page.getByRole('link', { name: runId }) });

describe('the runs page', () => {
  it('shows a new run and its status changes without a reload', async () => {
    const { skein, base, page } = await dashboard();
    const hold = gate();
    const slow = skein.task({ name: 'slow', fn: () => hold.promise.then(() => 'done') });
    const worker = await skein.worker('w', { workflows: [slow] });
    await worker.start();
    await page.goto(`${base}/runs`);
    await shown(page.getByRole('heading', { name: 'Runs' }));
    // Set on this document: a reload would drop it.
    await page.evaluate(() => ((globalThis as { notReloaded?: boolean }).notReloaded = true));

    const ref = await slow.runNoWait({});
    const row = rowOf(page, ref.runId);
    await shown(row);
    await shown(row.getByRole('cell', { name: 'slow', exact: true }));
    hold.open();
    await ref.result();
    await shown(row.getByRole('cell', { name: 'COMPLETED' }));
    expect(await page.evaluate(() => (globalThis as { notReloaded?: boolean }).notReloaded)).toBe(
      true,
    );
  });

  it('narrows the list by status, name and metadata (AND), and keeps the filters in the URL', async () => {
    const { skein, base, page } = await dashboard();
    const alpha = skein.task({ name: 'alpha', fn: () => 1 });
    const beta = skein.task({ name: 'beta', fn: () => 1 });
    const worker = await skein.worker('w', { workflows: [alpha, beta] });
    await worker.start();
    const make = async (task: typeof alpha, meta: Record<string, string>) => {
      const ref = await task.runNoWait({}, { additionalMetadata: meta });
      await ref.result();
      return ref.runId;
    };
    const wanted = await make(alpha, { tenant: 'acme', region: 'eu' });
    const otherRegion = await make(alpha, { tenant: 'acme', region: 'us' });
    const otherTenant = await make(alpha, { tenant: 'globex', region: 'eu' });
    const otherName = await make(beta, { tenant: 'acme', region: 'eu' });

    await page.goto(`${base}/runs`);
    for (const id of [wanted, otherRegion, otherTenant, otherName]) await shown(rowOf(page, id));
    const filters = page.getByRole('search', { name: 'Filters' });
    await filters.getByRole('checkbox', { name: 'COMPLETED' }).check();
    await filters.getByRole('textbox', { name: 'Name', exact: true }).fill('alpha');
    await filters.getByRole('textbox', { name: 'Metadata', exact: true }).fill('tenant=acme');
    await filters.getByRole('textbox', { name: 'Metadata 2', exact: true }).fill('region=eu');
    await filters.getByRole('button', { name: 'Apply filters' }).click();

    const only = async () => {
      await shown(rowOf(page, wanted));
      await expect.poll(() => runsTable(page).getByRole('row').count()).toBe(2); // header + 1
    };
    await only();
    const url = new URL(page.url());
    expect(url.searchParams.getAll('status')).toEqual(['COMPLETED']);
    expect(url.searchParams.getAll('name')).toEqual(['alpha']);
    expect(url.searchParams.getAll('meta')).toEqual(['tenant=acme', 'region=eu']);

    await page.reload();
    await only();
    expect(await filters.getByRole('textbox', { name: 'Name', exact: true }).inputValue()).toBe(
      'alpha',
    );
    expect(await filters.getByRole('checkbox', { name: 'COMPLETED' }).isChecked()).toBe(true);

    // A shared URL shows the same.
    const other = await newPage();
    await other.goto(page.url());
    await shown(rowOf(other, wanted));
    await expect.poll(() => runsTable(other).getByRole('row').count()).toBe(2);
  });

  it('cancels all the runs a filter matches and replays selected ones, after showing how many; their history says the dashboard did', async () => {
    const { skein, base, page } = await dashboard();
    // No worker serves it: its runs stay queued.
    const parked = skein.task({ name: 'parked', fn: () => 1 });
    const kept = skein.task({ name: 'kept', fn: () => 1 });
    const batch = await Promise.all(
      [1, 2, 3].map(() => parked.runNoWait({}, { additionalMetadata: { batch: 'b1' } })),
    );
    const other = await kept.runNoWait({}, { additionalMetadata: { batch: 'b1' } });
    await page.goto(`${base}/runs?name=parked&meta=batch%3Db1`);
    for (const ref of batch) await shown(rowOf(page, ref.runId));

    await page.getByRole('button', { name: 'Cancel all matching' }).click();
    await shown(page.getByRole('heading', { name: 'Cancel 3 runs?' }));
    await page.getByRole('button', { name: 'Cancel 3 runs' }).click();
    expect((await page.getByRole('status').textContent())?.trim()).toBe('3 runs cancelled.');
    for (const ref of batch) {
      await shown(rowOf(page, ref.runId).getByRole('cell', { name: 'CANCELLED' }));
      const history = await skein.runs.history(ref.runId);
      expect(history.find((e) => e.type === 'RunCancelled')?.data).toMatchObject({
        by: 'dashboard',
      });
    }
    expect((await skein.runs.get(other.runId)).status).toBe('QUEUED');

    // Two selected rows: replayed, after the count is shown.
    for (const ref of batch.slice(0, 2))
      await page.getByRole('checkbox', { name: `Select run ${ref.runId}` }).check();
    await page.getByRole('button', { name: 'Replay selected' }).click();
    await shown(page.getByRole('heading', { name: 'Replay 2 runs?' }));
    await page.getByRole('button', { name: 'Replay 2 runs' }).click();
    expect((await page.getByRole('status').textContent())?.trim()).toBe('2 runs replayed.');
    for (const ref of batch.slice(0, 2)) {
      const history = await skein.runs.history(ref.runId);
      expect(history.find((e) => e.type === 'RunReplayed')?.data).toMatchObject({
        by: 'dashboard',
      });
    }
  });
});
