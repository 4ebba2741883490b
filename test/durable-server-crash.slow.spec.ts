/**
 * nats-server SIGKILLed and restarted on its store while durable tasks sleep and runs wait
 * for concurrency slots: every run completes once, no memo'd side effect repeats, no sleep
 * restarts, and the concurrency limit holds throughout.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv | undefined;
afterEach(async () => {
  await env?.stop();
  env = undefined;
});

const DURABLE_RUNS = 40;
const LIMITED_RUNS = 40;
const SLEEP_MS = 4_000;

describe('nats-server killed under durable and concurrency-limited load', () => {
  it('recovers every run, with recorded calls kept and limits held', async () => {
    env = await startSkeinEnv();
    const { skein } = await env.client();
    const charges = new Map<number, number>();
    const sleeping = new Set<number>();
    const sleeper = skein.durableTask({
      name: 'crash-sleeper',
      scheduleTimeout: '5m',
      fn: async (n: number, ctx) => {
        await ctx.memo(function charge() {
          charges.set(n, (charges.get(n) ?? 0) + 1);
          return n;
        });
        sleeping.add(n);
        const slept = await ctx.sleepFor(SLEEP_MS);
        return slept.durationMs;
      },
    });
    const running = new Map<string, number>();
    let overLimit = 0;
    const limited = skein.task({
      name: 'crash-limited',
      scheduleTimeout: '5m',
      concurrency: { expression: 'input.key', maxRuns: 2 },
      fn: async (input: { key: string }) => {
        const now = (running.get(input.key) ?? 0) + 1;
        running.set(input.key, now);
        if (now > 2) overLimit++;
        await new Promise((r) => setTimeout(r, 50));
        running.set(input.key, (running.get(input.key) ?? 1) - 1);
        return input.key;
      },
    });
    await (await skein.worker('w', { workflows: [sleeper, limited], slots: 20 })).start();
    const sleepers = await sleeper.runManyNoWait(
      Array.from({ length: DURABLE_RUNS }, (_, n) => ({ input: n })),
    );
    await vi.waitFor(() => expect(sleeping.size).toBe(DURABLE_RUNS), { timeout: 20_000 });
    const limitedRefs = await limited.runManyNoWait(
      Array.from({ length: LIMITED_RUNS }, (_, i) => ({ input: { key: `k${i % 5}` } })),
    );

    await env.nats.kill('SIGKILL');
    await env.nats.restart();

    const slept = await Promise.all(sleepers.map((r) => r.result()));
    await Promise.all(limitedRefs.map((r) => r.result()));
    // Each sleep slept once, from its start: not restarted by the crash, and not held up by
    // delays the restarted server forgot (the leader restarts its timer consumer on reconnect).
    for (const ms of slept) {
      expect(ms).toBeGreaterThanOrEqual(SLEEP_MS);
      expect(ms).toBeLessThan(SLEEP_MS + 8_000);
    }
    expect([...charges.values()].every((n) => n === 1)).toBe(true);
    expect(charges.size).toBe(DURABLE_RUNS);
    expect(overLimit).toBe(0);
    for (const ref of [...sleepers, ...limitedRefs]) {
      const types = (await skein.runs.history(ref.runId)).map((e) => e.type);
      expect(types.filter((t) => t === 'RunCompleted')).toHaveLength(1);
    }
  }, 120_000);
});
