/**
 * `npm run bench:durable`: durable tasks on this machine (engine in a child process; client,
 * worker and clock in this one).
 *   - wake-up latency: SLEEPERS durable tasks sleep until due times spread over SPREAD_MS;
 *     the time from each due time to the code after the sleep running. Then the same number
 *     all due at one instant (a thundering herd).
 *   - 1,000-call history: one durable task makes CALLS memo calls (recorded one by one), then
 *     sleeps and is evicted, so that waking replays all of them from its history on the
 *     worker; and `replayHistory` replays the finished run offline.
 * Knobs: BENCH_SLEEPERS [1000], BENCH_SPREAD_MS [5000], BENCH_CALLS [1000].
 */
import { replayHistory } from 'skein';
import { withBenchSkein } from './harness.js';
import { deferred, envInt, fmt, latencySummary, say } from './util.js';

const int = envInt;
const SLEEPERS = int('BENCH_SLEEPERS', 1000);
const SPREAD_MS = int('BENCH_SPREAD_MS', 5000);
const CALLS = int('BENCH_CALLS', 1000);

async function main() {
  await withBenchSkein('bdu', async ({ skein }) => {
    let woke: number[] = [];
    let allWoke = deferred();
    const sleeper = skein.durableTask({
      name: 'bench-sleeper',
      scheduleTimeout: '10m',
      fn: async (input: { due: number }, ctx) => {
        await ctx.sleepUntil(new Date(input.due));
        woke.push(Date.now() - input.due);
        if (woke.length === SLEEPERS) allWoke.resolve();
      },
    });
    let replayStarted = 0;
    let replayedAt = deferred<number>();
    const historian = skein.durableTask({
      name: 'bench-historian',
      evictionPolicy: { ttl: '100ms' },
      executionTimeout: '10m',
      fn: async (_input, ctx) => {
        replayStarted = performance.now();
        for (let i = 0; i < CALLS; i++) await ctx.memo((n: number) => n * 2, i);
        replayedAt.resolve(performance.now());
        await ctx.sleepFor('1s');
        return 'done';
      },
    });
    const worker = await skein.worker('bench-durable', {
      workflows: [sleeper, historian],
      durableSlots: SLEEPERS + 10,
    });
    await worker.start();

    const wake = async (spread: number) => {
      woke = [];
      allWoke = deferred();
      const base = Date.now() + 3000 + (SLEEPERS / 1000) * 2000;
      await sleeper.runManyNoWait(
        Array.from({ length: SLEEPERS }, (_, i) => ({
          input: { due: base + Math.floor((i * spread) / SLEEPERS) },
        })),
      );
      await allWoke.promise;
      return latencySummary(woke);
    };
    const spread = await wake(SPREAD_MS);
    say(`durable sleep, due time -> code after it running (${SLEEPERS} sleeps, ms):`);
    say(
      `   due over ${SPREAD_MS} ms: p50 ${fmt(spread.p50)}  p90 ${fmt(spread.p90)}  ` +
        `p99 ${fmt(spread.p99)}  max ${fmt(spread.max)}`,
    );
    const herd = await wake(0);
    say(
      `   all due at once:  p50 ${fmt(herd.p50)}  p90 ${fmt(herd.p90)}  p99 ${fmt(herd.p99)}  max ${fmt(herd.max)}`,
    );

    const t0 = performance.now();
    const ref = await historian.runNoWait({});
    const recordedAt = await replayedAt.promise;
    replayedAt = deferred<number>();
    const recordMs = recordedAt - t0;
    // Evicted after 100 ms; when the sleep ends the worker fetches the history and replays it.
    const replayOnWorker = (await replayedAt.promise) - replayStarted;
    await ref.result();
    const history = await skein.runs.history(ref.runId);
    const t1 = performance.now();
    const report = await replayHistory(historian, history);
    const offlineMs = performance.now() - t1;
    if (!report.ok) throw new Error(`offline replay failed: ${report.error?.message}`);
    say(`a durable task with ${CALLS} memo calls:`);
    say(
      `   recording them, one round trip each: ${fmt(recordMs)} ms (${fmt((recordMs / CALLS) * 1000)} µs per call)`,
    );
    say(
      `   resumed by replay on a worker (calls replayed, after the history was read): ${fmt(replayOnWorker, 1)} ms`,
    );
    say(`   replayHistory offline: ${fmt(offlineMs, 1)} ms`);
    say(
      `bench-durable: wake_p50_ms=${fmt(spread.p50)} wake_p99_ms=${fmt(spread.p99)} ` +
        `herd_wake_p50_ms=${fmt(herd.p50)} herd_wake_p99_ms=${fmt(herd.p99)} ` +
        `record_${CALLS}_ms=${fmt(recordMs)} replay_${CALLS}_on_worker_ms=${fmt(replayOnWorker, 1)} ` +
        `replay_${CALLS}_offline_ms=${fmt(offlineMs, 1)}`,
    );
    await worker.stop();
  });
}

await main();
