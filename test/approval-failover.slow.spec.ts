/**
 * An approval that arrived in time does not lose to its timeout when the engine dies: the
 * engine is SIGKILLed while a durable task and a workflow task wait for `order:approved` or
 * 10 s, the approval is pushed (stored at once) before the deadline, and a new engine starts
 * only after it. The approval was stored first, so it wins in both.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Or, Skein, SleepCondition, UserEventCondition } from 'skein';
import { startChild } from './support/child.js';
import { waitForHistory } from './support/history.js';
import { startSkeinEnv, testLogger, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

const TIMEOUT = '10s';

async function waitStartedAt(skein: Skein, runId: string, type: string) {
  await waitForHistory(skein, runId, type, { timeout: 20_000 });
  return (await skein.runs.history(runId)).find((e) => e.type === type)!.at.getTime();
}

describe('an approval racing its timeout across an engine crash', () => {
  it('takes the approval stored before the deadline, in a durable task and a workflow task', async () => {
    const namespace = `apfail${Date.now() % 100000}`;
    const first = await startChild('engine-process.ts', [env.url, namespace]);
    const skein = Skein.init({ natsUrl: env.url, namespace, logger: testLogger });
    try {
      const approval = new UserEventCondition('order:approved', `input.orderId == 'o-1'`);
      const durable = skein.durableTask({
        name: 'approve-or-refund',
        fn: async (_input, ctx) => {
          const held = await ctx.waitFor(Or(new SleepCondition(TIMEOUT, 'timeout'), approval));
          return 'timeout' in held ? 'refunded' : 'shipped';
        },
      });
      const wf = skein.workflow({ name: 'ship-unless-late' });
      wf.task({
        name: 'ship',
        waitFor: Or(approval),
        cancelIf: Or(new SleepCondition(TIMEOUT)),
        fn: () => 'shipped',
      });
      await (await skein.worker('w', { workflows: [durable, wf] })).start();

      const task = await durable.runNoWait({});
      const flow = await wf.runNoWait({});
      const deadline =
        Math.max(
          await waitStartedAt(skein, task.runId, 'DurableWaitStarted'),
          await waitStartedAt(skein, flow.runId, 'TaskWaiting'),
        ) + 10_000;

      await first.kill('SIGKILL');
      await skein.events.push('order:approved', { orderId: 'o-1' });
      expect(Date.now(), 'the approval was stored before the deadline').toBeLessThan(deadline);
      await sleep(deadline + 500 - Date.now());
      const second = await startChild('engine-process.ts', [env.url, namespace]);
      try {
        expect(await task.result()).toBe('shipped');
        expect(await flow.result()).toEqual({ ship: 'shipped' });
      } finally {
        await second.kill('SIGTERM');
      }
    } finally {
      await skein.close();
      await first.kill();
    }
  }, 90_000);
});
