/**
 * The engine SIGKILLed and started again while 1,000 durable tasks sleep: every sleep ends on
 * time (within 1 s of its deadline) and the code after it runs exactly once per run. (A
 * thousand sleeps ending in the same millisecond right after a restart take about 0.6 s to
 * wake, as the new engine reads each run from the journal: see bench/README.md.)
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startChild, type ChildHandle } from './support/child.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv | undefined;
let engineChild: ChildHandle | undefined;
afterEach(async () => {
  await engineChild?.kill();
  await env?.stop();
  env = engineChild = undefined;
});

const RUNS = 1_000;
// Longer than the restarted engine may take to take over the dead one's partitions (API.md: 30 s).
const SLEEP_MS = 40_000;

describe('durable sleeps across an engine restart', () => {
  it('1,000 concurrent sleeps all wake on time, exactly once', async () => {
    env = await startSkeinEnv();
    const { skein, engine, namespace, startEngine } = await env.client();
    await engine.stop();
    engineChild = await startChild('engine-process.ts', [env.url, namespace]);

    const sleeping = new Set<string>();
    const woke = new Map<string, number>();
    const lateness: number[] = [];
    const task = skein.durableTask<{ until: number }>({
      name: 'mass-sleeper',
      executionTimeout: '2m',
      scheduleTimeout: '10m',
      fn: async (input, ctx) => {
        sleeping.add(ctx.runId);
        await ctx.sleepUntil(new Date(input.until));
        woke.set(ctx.runId, (woke.get(ctx.runId) ?? 0) + 1);
        lateness.push(Date.now() - input.until);
        return 'awake';
      },
    });
    await (await skein.worker('sleepers', { workflows: [task], durableSlots: RUNS })).start();
    const until = Date.now() + SLEEP_MS;
    const refs = await task.runManyNoWait(
      // Due times spread over 10 s, as sleeps that overlap but did not all start together.
      Array.from({ length: RUNS }, (_, i) => ({ input: { until: until + (i % 100) * 100 } })),
    );
    await vi.waitFor(() => expect(sleeping.size).toBe(RUNS), { timeout: 20_000, interval: 200 });

    await engineChild.kill('SIGKILL');
    const restarted = await startEngine();
    await vi.waitFor(() => expect(restarted.partitions()).toHaveLength(8), {
      timeout: until - Date.now() - 1_000,
      interval: 250,
    });

    const results = await Promise.all(refs.map((r) => r.result()));
    expect(results.every((r) => r === 'awake')).toBe(true);
    expect(woke.size).toBe(RUNS);
    expect([...woke.values()].every((n) => n === 1)).toBe(true);
    lateness.sort((a, b) => a - b);
    expect(lateness[0]).toBeGreaterThanOrEqual(0);
    expect(lateness.at(-1)).toBeLessThan(1_000);
  }, 120_000);
});
