/** The examples do what their comments say. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { branchAndApprovalExample } from '../examples/branch-and-approval.js';
import { dagExamples } from '../examples/dag.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

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
    const waiting = async () =>
      (await skein.runs.history(ref.runId)).some((e) => e.type === 'TaskWaiting');
    await expect.poll(waiting, { timeout: 5000 }).toBe(true);
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
