/**
 * `npm run bench:concurrency`: scheduling throughput with concurrency keys (engine in a child
 * process; client and worker in this one). RUNS no-op task runs spread over KEYS distinct keys
 * of `concurrency: { expression: 'input.key', maxRuns: MAX_RUNS }`, all triggered at once;
 * the same without a concurrency limit for comparison. WINDOW runs are in flight at a time.
 * Knobs: BENCH_CC_RUNS [10000], BENCH_CC_KEYS [1000], BENCH_CC_MAX_RUNS [1], BENCH_CC_SLOTS [100],
 * BENCH_CC_WINDOW [1000].
 */
import { withBenchSkein } from './harness.js';
import { envInt, fmt, say } from './util.js';

const int = envInt;
const RUNS = int('BENCH_CC_RUNS', 10_000);
const KEYS = int('BENCH_CC_KEYS', 1000);
const MAX_RUNS = int('BENCH_CC_MAX_RUNS', 1);
const SLOTS = int('BENCH_CC_SLOTS', 100);
const WINDOW = int('BENCH_CC_WINDOW', 1000);

async function main() {
  await withBenchSkein('bcc', async ({ skein }) => {
    const keyed = skein.task({
      name: 'keyed',
      concurrency: { expression: 'input.key', maxRuns: MAX_RUNS },
      fn: (input: { key: string }) => input.key,
    });
    const plain = skein.task({ name: 'plain', fn: (input: { key: string }) => input.key });
    const worker = await skein.worker('bench-cc', { workflows: [keyed, plain], slots: SLOTS });
    await worker.start();
    const items = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ input: { key: `k${i % KEYS}` } }));
    await keyed.runMany(items(200)); // warm-up
    await plain.runMany(items(200));

    // WINDOW runs in flight at a time: a new one starts as one ends.
    const measure = async (task: typeof keyed) => {
      const all = items(RUNS);
      let next = 0;
      const lane = async () => {
        while (next < all.length) await task.run(all[next++].input);
      };
      const t0 = performance.now();
      await Promise.all(Array.from({ length: WINDOW }, lane));
      return (RUNS / (performance.now() - t0)) * 1000;
    };
    // Unlimited first, so the limited runs do not get a warmer engine.
    const without = await measure(plain);
    const withKeys = await measure(keyed);
    say(
      `${RUNS} no-op runs over ${KEYS} concurrency keys (maxRuns ${MAX_RUNS}), worker slots ${SLOTS}:`,
    );
    say(`   with concurrency keys: ${fmt(withKeys)} runs/s`);
    say(`   without:               ${fmt(without)} runs/s`);
    say(
      `bench-concurrency: keyed_runs_per_s=${fmt(withKeys)} plain_runs_per_s=${fmt(without)} keys=${KEYS} runs=${RUNS}`,
    );
    await worker.stop();
  });
}

await main();
