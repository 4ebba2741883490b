/**
 * `npx tsx bench/rate-limits.ts`: rate-limited scheduling on this machine (engine in a child
 * process; client and worker in this one). RUNS task runs share one static key of LIMIT per
 * second, all queued before the worker starts (its process does nothing else); reports how long they took against the ideal (the first
 * LIMIT start at once, then LIMIT per second), the most starts seen in any one-second span
 * (must not exceed LIMIT), and how late each second's batch started after its window freed.
 * Knobs: BENCH_RUNS [5000], BENCH_LIMIT [1000], BENCH_SLOTS [500].
 */
import { withBenchSkein } from './harness.js';
import { deferred, envInt, fmt, latencySummary, say, sleep } from './util.js';

const int = envInt;
const RUNS = int('BENCH_RUNS', 5000);
const LIMIT = int('BENCH_LIMIT', 1000);
const SLOTS = int('BENCH_SLOTS', 500);

async function main() {
  await withBenchSkein('brl', async ({ skein }) => {
    await skein.rateLimits.upsert({ key: 'api', limit: LIMIT, duration: 'second' });
    const starts: number[] = [];
    const all = deferred();
    const call = skein.task({
      name: 'bench-limited',
      scheduleTimeout: '10m',
      rateLimits: [{ staticKey: 'api', units: 1 }],
      fn: () => {
        starts.push(Date.now());
        if (starts.length === RUNS) all.resolve();
      },
    });
    await call.runManyNoWait(Array.from({ length: RUNS }, () => ({ input: {} })));
    await sleep(2000);
    const worker = await skein.worker('bench-limited', { workflows: [call], slots: SLOTS });
    await worker.start();
    await all.promise;

    starts.sort((a, b) => a - b);
    const elapsed = starts.at(-1)! - starts[0];
    const ideal = (Math.ceil(RUNS / LIMIT) - 1) * 1000;
    let most = 0;
    for (let i = 0, j = 0; i < starts.length; i++) {
      while (starts[i] - starts[j] >= 1000) j++;
      most = Math.max(most, i - j + 1);
    }
    // The k-th start of a later window may begin one second after the k-th start of the one before.
    const late = starts.slice(LIMIT).map((t, i) => t - (starts[i] + 1000));
    const lateness = latencySummary(late);
    say(`${RUNS} runs, limit ${LIMIT} per second, ${SLOTS} slots:`);
    say(`   first to last start: ${fmt(elapsed)} ms (ideal ${ideal} ms)`);
    say(`   most starts in any 1 s span: ${most} (limit ${LIMIT})`);
    say(
      `   start after its unit freed, ms: min ${fmt(Math.min(...late))}  p50 ${fmt(lateness.p50)}  p99 ${fmt(lateness.p99)}  max ${fmt(lateness.max)}`,
    );
    say(
      `bench-ratelimits: runs=${RUNS} limit=${LIMIT} elapsed_ms=${fmt(elapsed)} ideal_ms=${ideal} ` +
        `max_per_second=${most} late_p50_ms=${fmt(lateness.p50)} late_p99_ms=${fmt(lateness.p99)}`,
    );
    await worker.stop();
  });
}

await main();
