/**
 * The run page in a real browser: the task graph, tasks with their logs and waits, the
 * history; time travel; cancel, replay and replay from a failed task, recorded as the
 * dashboard's.
 */
import { describe, expect, it, vi } from 'vitest';
import type { Page } from 'playwright-core';
import { NonRetryableError } from 'skein';
import { gate } from './fixtures/gate.js';
import { dashboardTests, shown } from './support/dashboard-tests.js';
import { SOON } from './support/patience.js';

const { dashboard } = dashboardTests();
/** A box of the task graph: named `<task>: <STATUS>`. */
const box = (page: Page, task: string, status: string) =>
  page.getByRole('figure').getByRole('img', { name: `${task}: ${status}` });
const task = (page: Page, name: string) =>
  page.getByRole('article', { name: new RegExp(`^${name} `) });

describe('the run page', () => {
  it('shows the latest chunk a running task streams', async () => {
    const { skein, base, page } = await dashboard();
    let streaming = true;
    const talker = skein.task({
      name: 'talker',
      fn: async (_input, ctx) => {
        for (let i = 0; streaming; i++) {
          ctx.putStream({ token: i });
          await new Promise((r) => setTimeout(r, 100));
        }
        return 'said';
      },
    });
    await (await skein.worker('w', { workflows: [talker] })).start();
    const ref = await talker.runNoWait({});
    await page.goto(`${base}/runs/${ref.runId}`);
    await shown(
      page.getByRole('region', { name: 'Latest stream chunk' }).getByText(/"token": \d+/),
    );
    streaming = false;
    expect(await ref.result()).toBe('said');
  });

  it('shows the graph, the history, logs beside each task and what a waiting task waits for; its event can be pushed', async () => {
    const { skein, base, page } = await dashboard();
    const wf = skein.workflow({ name: 'order' });
    const validate = wf.task({
      name: 'validate',
      fn: (_input, ctx) => {
        ctx.log('checking the order');
        return { ok: true };
      },
    });
    wf.task({
      name: 'ship',
      parents: [validate],
      waitFor: [{ eventKey: 'order:approved' }],
      fn: (_input, ctx) => {
        ctx.log('shipping');
        return { shipped: true };
      },
    });
    const worker = await skein.worker('w', { workflows: [wf] });
    await worker.start();
    const ref = await wf.runNoWait({ orderId: 'o-1' });
    await vi.waitFor(async () => {
      const run = await skein.runs.get(ref.runId);
      expect(run.tasks.find((t) => t.name === 'ship')?.waitingFor).toBeDefined();
    }, SOON);

    await page.goto(`${base}/runs/${ref.runId}`);
    await shown(box(page, 'validate', 'COMPLETED'));
    await shown(box(page, 'ship', 'QUEUED'));
    await shown(
      task(page, 'validate')
        .getByRole('list', { name: 'Logs of validate' })
        .getByText('checking the order'),
    );
    await shown(task(page, 'ship').getByText('event order:approved'));
    const history = page.getByRole('table', { name: 'History' });
    await shown(history.getByRole('cell', { name: 'RunTriggered', exact: true }));
    await shown(history.getByRole('cell', { name: 'TaskSucceeded', exact: true }));
    await shown(page.getByLabel('Input').getByText('"orderId": "o-1"'));

    // The key is filled in; pushing it lets ship run, and the page follows without a reload.
    await expect(task(page, 'ship').getByLabel('Event key').inputValue()).resolves.toBe(
      'order:approved',
    );
    await task(page, 'ship').getByRole('button', { name: 'Push event' }).click();
    await shown(box(page, 'ship', 'COMPLETED'));
    await shown(page.getByRole('definition').getByText('COMPLETED', { exact: true }));
    await shown(task(page, 'ship').getByText('shipping'));
    await shown(history.getByRole('cell', { name: 'RunCompleted', exact: true }));
  });

  it('time travel: an event of the history shows the run as it was right after it', async () => {
    const { skein, base, page } = await dashboard();
    const wf = skein.workflow({ name: 'pair' });
    const first = wf.task({ name: 'first', fn: () => 1 });
    wf.task({ name: 'second', parents: [first], fn: () => 2 });
    const worker = await skein.worker('w', { workflows: [wf] });
    await worker.start();
    const ref = await wf.runNoWait({});
    await ref.result();
    const started = (await skein.runs.history(ref.runId)).find(
      (e) => e.type === 'TaskStarted' && e.data.taskName === 'first',
    );
    expect(started).toBeDefined();

    await page.goto(`${base}/runs/${ref.runId}`);
    await shown(box(page, 'first', 'COMPLETED'));
    await page.getByRole('link', { name: `State after event ${started!.seq}` }).click();
    await shown(page.getByRole('note').getByText(`as of event ${started!.seq}`));
    await shown(box(page, 'first', 'RUNNING'));
    await expect(box(page, 'second', 'COMPLETED').count()).resolves.toBe(0);
    await expect(page.getByRole('button', { name: 'Replay run' }).count()).resolves.toBe(0);
    await page.getByRole('link', { name: 'Back to now' }).click();
    await shown(box(page, 'second', 'COMPLETED'));
  });

  it('cancels and replays a run, recorded as the dashboard; the page follows the run live', async () => {
    const { skein, base, page } = await dashboard();
    let hold = gate();
    const slow = skein.task({ name: 'slow', fn: () => hold.promise.then(() => 'done') });
    const worker = await skein.worker('w', { workflows: [slow] });
    await worker.start();
    const ref = await slow.runNoWait({});
    await page.goto(`${base}/runs/${ref.runId}`);
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await shown(page.getByRole('definition').getByText('CANCELLED', { exact: true }));
    const history = await skein.runs.history(ref.runId);
    expect(history.find((e) => e.type === 'RunCancelled')?.data).toMatchObject({ by: 'dashboard' });

    hold.open();
    hold = gate();
    await page.getByRole('button', { name: 'Replay run' }).click();
    await shown(page.getByRole('definition').getByText(/^(QUEUED|RUNNING)$/));
    // Set on this document: a reload would drop it.
    await page.evaluate(() => ((globalThis as { notReloaded?: boolean }).notReloaded = true));
    hold.open();
    await shown(page.getByRole('definition').getByText('COMPLETED', { exact: true }));
    await shown(page.getByRole('figure').getByRole('img', { name: 'slow: COMPLETED' }));
    expect(await page.evaluate(() => (globalThis as { notReloaded?: boolean }).notReloaded)).toBe(
      true,
    );
    const after = await skein.runs.history(ref.runId);
    expect(after.find((e) => e.type === 'RunReplayed')?.data).toMatchObject({ by: 'dashboard' });
  });

  it('replays from the failed task, keeping the outputs of the tasks before it', async () => {
    const { skein, base, page } = await dashboard();
    let failing = true;
    let firstRuns = 0;
    const wf = skein.workflow({ name: 'flaky' });
    const prepare = wf.task({
      name: 'prepare',
      fn: () => {
        firstRuns += 1;
        return { n: 1 };
      },
    });
    wf.task({
      name: 'charge',
      parents: [prepare],
      fn: () => {
        if (failing) throw new NonRetryableError('card declined');
        return { charged: true };
      },
    });
    const worker = await skein.worker('w', { workflows: [wf] });
    await worker.start();
    const ref = await wf.runNoWait({});
    await expect(ref.result()).rejects.toThrow();
    await page.goto(`${base}/runs/${ref.runId}`);
    await shown(box(page, 'charge', 'FAILED'));
    await shown(task(page, 'charge').getByText('card declined'));

    failing = false;
    await page.getByRole('button', { name: 'Replay from failed task' }).click();
    await shown(box(page, 'charge', 'COMPLETED'));
    await shown(page.getByRole('definition').getByText('COMPLETED', { exact: true }));
    expect(firstRuns).toBe(1);
    const replayed = (await skein.runs.history(ref.runId)).find((e) => e.type === 'RunReplayed');
    expect(replayed?.data).toMatchObject({ by: 'dashboard', fromTask: 'charge' });
  });
  it('links child runs and the parent run', async () => {
    const { skein, base, page } = await dashboard();
    const child = skein.task({ name: 'child', fn: () => 'small' });
    const parent = skein.task({
      name: 'parent',
      fn: async () => (await child.runNoWait({})).runId,
    });
    await (await skein.worker('w', { workflows: [parent, child] })).start();
    const ref = await parent.runNoWait({});
    const childId = await ref.result();
    await vi.waitFor(async () => {
      const page = await skein.runs.page({ parentRunId: ref.runId });
      expect(page.runs.map((r) => r.id)).toEqual([childId]);
    }, SOON);

    await page.goto(`${base}/runs/${ref.runId}`);
    await page
      .getByRole('table', { name: 'Child runs' })
      .getByRole('link', { name: childId })
      .click();
    await shown(page.getByRole('img', { name: 'child: COMPLETED' }));
    await page.getByRole('link', { name: ref.runId }).click();
    await shown(page.getByRole('img', { name: 'parent: COMPLETED' }));
  });
});
