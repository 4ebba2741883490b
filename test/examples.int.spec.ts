/** The examples do what their comments say. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { branchAndApprovalExample } from '../examples/branch-and-approval.js';
import { dagExamples } from '../examples/dag.js';
import { durableExamples } from '../examples/durable.js';
import { nightlyCronExample } from '../examples/nightly-cron.js';
import { orderPipelineExample } from '../examples/order-pipeline.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';
import { waitForHistory } from './support/history.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

describe('examples/dag.ts', () => {
  it('runs the two-step DAG and the fan-out / fan-in pipeline', async () => {
    const { skein } = await env.client();
    const { twoStep, pipeline } = dagExamples(skein);
    await (await skein.worker('w', { workflows: [twoStep, pipeline] })).start();
    expect(await twoStep.run({})).toEqual({ first: { value: 10 }, second: { doubled: 20 } });
    const out = await pipeline.run({ words: ['durable', 'execution', 'on', 'nats'] });
    expect(out.total).toEqual({ letters: 7 + 9 + 2 + 4 });
  });
});

describe('examples/branch-and-approval.ts', () => {
  it('refunds small amounts at once and large ones after the approval event', async () => {
    const { skein } = await env.client();
    const { refunds } = branchAndApprovalExample(skein);
    await (await skein.worker('w', { workflows: [refunds] })).start();

    const small = await refunds.run({ orderId: 'o-1', amount: 20 });
    expect(small).toMatchObject({
      auto_refund: { refunded: 20 },
      approval: { skipped: true },
      refund: { skipped: true },
    });

    const ref = await refunds.runNoWait({ orderId: 'o-2', amount: 250 });
    await waitForHistory(skein, ref.runId, 'TaskWaiting', { timeout: 5000 });
    await skein.events.push('order:approved', { orderId: 'o-2', approved: true });
    expect(await ref.result()).toMatchObject({
      auto_refund: { skipped: true },
      refund: { refunded: 250, by: 'person' },
    });
  });

  it('goes on without the event once the approval timeout elapses', async () => {
    const { skein } = await env.client();
    const { refunds } = branchAndApprovalExample(skein, '500ms');
    await (await skein.worker('w', { workflows: [refunds] })).start();
    expect(await refunds.run({ orderId: 'o-3', amount: 500 })).toMatchObject({
      refund: { refunded: 500 },
    });
  });
});

describe('examples/order-pipeline.ts', () => {
  it('runs the pipeline and the audit for an order:created event, and fails a bad order visibly', async () => {
    const { skein } = await env.client();
    const { orderPipeline, orderAudit } = orderPipelineExample(skein);
    await (await skein.worker('w', { workflows: [orderPipeline, orderAudit] })).start();
    const { eventId } = await skein.events.push('order:created', {
      orderId: 'o-1',
      items: [
        { sku: 'tea', price: 4, qty: 2 },
        { sku: 'mug', price: 9, qty: 1 },
      ],
    });
    const runsOf = (id: string, n: number) =>
      vi.waitFor(
        async () => {
          const runs = await skein.runs.list({ additionalMetadata: { skein__event_id: id } });
          expect(runs.map((r) => r.status)).toEqual(
            Array(n).fill(expect.stringMatching(/^(COMPLETED|FAILED|CANCELLED)$/)),
          );
          return Object.fromEntries(runs.map((r) => [r.name, r]));
        },
        { timeout: 10_000, interval: 100 },
      );
    const runs = await runsOf(eventId, 2);
    expect(runs['order-pipeline'].output).toMatchObject({
      confirm: { orderId: 'o-1', total: 17, items: 2, event: eventId },
    });
    expect(runs['order-audit'].output).toMatchObject({ key: 'order:created' });

    const bad = await skein.events.push('order:created', { orderId: 'o-2', items: [] });
    const badRuns = await runsOf(bad.eventId, 2);
    expect(badRuns['order-pipeline'].status).toBe('FAILED');
    expect(badRuns['order-audit'].status).toBe('COMPLETED');
  });
});

describe('examples/nightly-cron.ts', () => {
  it('runs the declared nightly cron at its tick (engine clock set just before it)', async () => {
    const offset = Date.parse('2031-01-01T01:59:58.800Z') - Date.now();
    const { skein } = await env.client({
      engine: { clock: { now: () => Date.now() + offset }, timerRecheckMs: 100 },
    });
    const { nightlyReport } = nightlyCronExample(skein);
    await (await skein.worker('w', { workflows: [nightlyReport] })).start();
    const [cron] = await skein.crons.list();
    expect(cron).toMatchObject({ name: '0 2 * * *', workflowName: 'nightly-report' });
    const run = await vi.waitFor(
      async () => {
        const [r] = await skein.runs.list({ name: 'nightly-report' });
        expect(r?.status).toBe('COMPLETED');
        return r;
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(run.output).toEqual({
      scope: 'all',
      tick: '2031-01-01T02:00:00.000Z',
      cron: '0 2 * * *',
    });
  });
});

describe('examples/durable.ts', () => {
  it('the seed task sleeps, then waits for user:approved', async () => {
    const { skein } = await env.client();
    const { approval } = durableExamples(skein, { sleep: '300ms' });
    await (await skein.worker('w', { workflows: [approval] })).start();
    const ref = await approval.runNoWait({});
    await waitForHistory(skein, ref.runId, 'DurableWaitStarted', { count: 2, timeout: 5000 });
    await skein.events.push('user:approved', { user_id: 'ann' });
    expect(await ref.result()).toEqual({ approved_by: 'ann' });
  });

  it('an expense is decided by its event, or escalated after the timeout', async () => {
    const { skein } = await env.client();
    const { expense } = durableExamples(skein, { decisionTimeout: '1s' });
    await (await skein.worker('w', { workflows: [expense] })).start();
    const decided = await expense.runNoWait({ expenseId: 'e-1', amount: 80 });
    await waitForHistory(skein, decided.runId, 'DurableWaitStarted');
    await skein.events.push('expense:decided', { expenseId: 'e-0', approved: false, by: 'x' });
    await skein.events.push('expense:decided', { expenseId: 'e-1', approved: true, by: 'bo' });
    expect(await decided.result()).toEqual({ status: 'approved', by: 'bo' });
    expect(await expense.run({ expenseId: 'e-2', amount: 5 })).toMatchObject({
      status: 'escalated',
    });
  });

  it('a memoized charge happens once, though another worker replays the task', async () => {
    const { skein } = await env.client();
    const charged: string[] = [];
    const { charge } = durableExamples(skein, {
      settle: '2s',
      chargeCard: async (orderId, cents) => {
        charged.push(orderId);
        return { receiptId: `r-${orderId}-${cents}` };
      },
    });
    const first = await skein.worker('first', { workflows: [charge] });
    await first.start();
    const ref = await charge.runNoWait({ orderId: 'o-9', cents: 1250 });
    await waitForHistory(skein, ref.runId, 'TaskSuspended');
    await first.stop(); // hands the waiting task back; the next worker replays it
    await (await skein.worker('second', { workflows: [charge] })).start();
    const out = await ref.result();
    expect(out.receiptId).toBe('r-o-9-1250');
    expect(charged).toEqual(['o-9']);
  });
});
