/**
 * A wait for an approval or a timeout takes whichever held first in the time of the events
 * (an event's time is its JetStream timestamp, the deadline the one recorded when the wait
 * began), however late the engine hears of either: here the engine is stopped while the run
 * waits, so nothing routes events or fires timers until a new engine starts after the deadline.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Or, SleepCondition, UserEventCondition, type Skein } from 'skein';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';
import { waitForHistory } from './support/history.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

const TIMEOUT_MS = 6000;

/** Starts a run that waits for `order:approved` or a timeout; resolves with its deadline. */
async function waitingOrder(skein: Skein) {
  const task = skein.durableTask<{ orderId: string }>({
    name: 'approve-or-refund',
    fn: async (input, ctx) => {
      const held = await ctx.waitFor(
        Or(
          new SleepCondition(TIMEOUT_MS, 'timeout'),
          new UserEventCondition('order:approved', `input.orderId == '${input.orderId}'`),
        ),
      );
      return 'timeout' in held ? 'refunded' : 'shipped';
    },
  });
  await (await skein.worker('w', { workflows: [task] })).start();
  const ref = await task.runNoWait({ orderId: 'o-1' });
  await waitForHistory(skein, ref.runId, 'DurableWaitStarted', { timeout: 15_000 });
  const began = (await skein.runs.history(ref.runId)).find((e) => e.type === 'DurableWaitStarted');
  return { ref, deadline: began!.at.getTime() + TIMEOUT_MS };
}

async function until(time: number) {
  const left = time - Date.now();
  if (left > 0) await sleep(left);
}

describe('an approval racing its timeout while no engine routes events', () => {
  it('takes an approval stored before the deadline, though the engine hears of it after', async () => {
    const { skein, engine, startEngine } = await env.client();
    const { ref, deadline } = await waitingOrder(skein);
    await engine.stop();
    await skein.events.push('order:approved', { orderId: 'o-1' });
    expect(Date.now(), 'the approval was stored before the deadline').toBeLessThan(deadline);
    await until(deadline + 500);
    await startEngine();
    expect(await ref.result()).toBe('shipped');
  });

  it('times out when the approval was stored after the deadline, though the engine hears of both at once', async () => {
    const { skein, engine, startEngine } = await env.client();
    const { ref, deadline } = await waitingOrder(skein);
    await engine.stop();
    await until(deadline + 200);
    await skein.events.push('order:approved', { orderId: 'o-1' });
    await startEngine();
    expect(await ref.result()).toBe('refunded');
  });
});
