/**
 * A durable task's log lines are stored once: replaying its recorded calls (after eviction from
 * the worker's memory, or on a retry) does not store the lines written before them again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Skein } from 'skein';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

const messages = async (skein: Skein, runId: string) =>
  (await skein.runs.logs(runId)).map((l) => l.message);

describe('log lines of a durable task', () => {
  it('are stored once when the task is evicted and replayed after each wait', async () => {
    const { skein } = await env.client();
    let entries = 0;
    const task = skein.durableTask({
      name: 'logged-naps',
      evictionPolicy: { ttl: '100ms' },
      fn: async (_input, ctx) => {
        entries++;
        ctx.log('start');
        ctx.logger.info({ step: 1 }, 'charging');
        await ctx.memo(function charge() {
          return 'receipt';
        });
        ctx.log('charged');
        await ctx.sleepFor('600ms');
        ctx.log({ after: 'first nap' });
        await ctx.sleepFor('600ms');
        ctx.log('done');
        return 'ok';
      },
    });
    await (await skein.worker('w', { workflows: [task] })).start();
    const ref = await task.runNoWait({});
    expect(await ref.result()).toBe('ok');
    expect(entries).toBe(3); // evicted during each nap, replayed twice
    expect(await messages(skein, ref.runId)).toEqual([
      'start',
      JSON.stringify({ msg: 'charging', step: 1 }),
      'charged',
      JSON.stringify({ after: 'first nap' }),
      'done',
    ]);
  });

  it('are stored once per attempt past what the failed attempt recorded, when it is retried', async () => {
    const { skein } = await env.client();
    const task = skein.durableTask({
      name: 'logged-retry',
      retries: 1,
      fn: async (_input, ctx) => {
        ctx.log('before the memo');
        await ctx.memo(function charge() {
          return 'receipt';
        });
        ctx.log(`attempt ${ctx.attemptNumber}`);
        if (ctx.attemptNumber === 1) throw new Error('first attempt fails');
        return 'ok';
      },
    });
    await (await skein.worker('w', { workflows: [task] })).start();
    const ref = await task.runNoWait({});
    expect(await ref.result()).toBe('ok');
    expect(await messages(skein, ref.runId)).toEqual(['before the memo', 'attempt 1', 'attempt 2']);
  });
});
