/**
 * `npm run bench:durable`: durable tasks on this machine (engine in a child process; client,
 * worker and clock in this one).
 *   - wake-up latency: SLEEPERS durable tasks sleep until due times spread over SPREAD_MS;
 *     the time from each due time to the code after the sleep running. Then the same number
 *     all due at one instant (a thundering herd).
 *   - 10,000-call history: one durable task makes CALLS memo calls (recorded one by one; the
 *     cost of each call around call 100 and around the last is compared: a long history must
 *     not make each call slower), then sleeps and is evicted, so that waking replays all of
 *     them from its history on the worker; and `replayHistory` replays the finished run offline.
 *     Then the same, waiting for an event, with a worker that has none of the history (the first
 *     one stopped).
 * Knobs: BENCH_SLEEPERS [1000] (0 skips the wake-ups), BENCH_SPREAD_MS [5000], BENCH_CALLS [10000],
 * BENCH_RESULT_BYTES [0: each memo returns a number; else a string of that many characters].
 */
import { replayHistory, type Skein } from 'skein';
import { withBenchSkein } from './harness.js';
import { deferred, envInt, fmt, latencySummary, say } from './util.js';

const int = envInt;
const SLEEPERS = int('BENCH_SLEEPERS', 1000);
const SPREAD_MS = int('BENCH_SPREAD_MS', 5000);
const CALLS = int('BENCH_CALLS', 10_000);
const RESULT_BYTES = int('BENCH_RESULT_BYTES', 0);
const memoResult = (n: number) => (RESULT_BYTES ? String(n).padEnd(RESULT_BYTES, '.') : n * 2);
/** Calls averaged on each side of a position, for the per-call cost there. */
const AROUND = 50;

/** Mean time per call over the calls around `at` (times: when each call returned). */
function perCallAround(times: number[], at: number): number {
  const from = Math.max(1, Math.min(at, times.length - AROUND) - AROUND);
  const to = Math.min(times.length - 1, from + 2 * AROUND);
  return (times[to] - times[from]) / (to - from);
}

/**
 * A durable task makes CALLS memo calls and waits for an event; its worker stops meanwhile, so
 * the event's wake-up goes to another worker, which reads the whole history (in pages) and
 * replays it. Timed from the event's push to the replay caught up.
 */
async function coldReplay(skein: Skein) {
  let caughtUp = deferred<number>();
  const task = skein.durableTask({
    name: 'bench-historian-cold',
    executionTimeout: '10m',
    fn: async (_input, ctx) => {
      for (let i = 0; i < CALLS; i++) await ctx.memo(memoResult, i);
      caughtUp.resolve(performance.now());
      await ctx.waitForEvent('bench-cold-go');
    },
  });
  const first = await skein.worker('bench-cold-first', { workflows: [task] });
  await first.start();
  const ref = await task.runNoWait({});
  await caughtUp.promise;
  caughtUp = deferred<number>();
  await first.stop();
  // Until the scheduler has heard that it stopped, the wake-up may still be sent to it.
  while ((await skein.workers.list()).some((w) => w.id === first.id && w.status === 'ACTIVE'))
    await new Promise((r) => setTimeout(r, 50));
  const second = await skein.worker('bench-cold-second', { workflows: [task] });
  await second.start();
  // The wait is stored before the worker can stop (it hands the waiting task back).
  const pushedAt = performance.now();
  await skein.events.push('bench-cold-go', {});
  const ms = (await caughtUp.promise) - pushedAt;
  await ref.result();
  const reads = second.historyReads;
  await second.stop();
  return { ms, reads };
}

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
    const callTimes: number[] = [];
    let executions = 0;
    let replayedAt = deferred<number>();
    const historian = skein.durableTask({
      name: 'bench-historian',
      evictionPolicy: { ttl: '100ms' },
      executionTimeout: '10m',
      fn: async (_input, ctx) => {
        replayStarted = performance.now();
        const live = executions++ === 0;
        for (let i = 0; i < CALLS; i++) {
          await ctx.memo(memoResult, i);
          if (live) callTimes[i] = performance.now();
        }
        replayedAt.resolve(performance.now());
        await ctx.sleepFor('1s');
        return 'done';
      },
    });
    // Warms the path (JIT, connections) so that the figure at call 100 is not the first calls'.
    const warmer = skein.durableTask({
      name: 'bench-warmer',
      fn: async (_input, ctx) => {
        for (let i = 0; i < 500; i++) await ctx.memo((n: number) => n, i);
      },
    });
    const worker = await skein.worker('bench-durable', {
      workflows: [sleeper, historian, warmer],
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
    const none = { p50: NaN, p90: NaN, p99: NaN, max: NaN };
    const spread = SLEEPERS ? await wake(SPREAD_MS) : none;
    const herd = SLEEPERS ? await wake(0) : none;
    if (SLEEPERS) {
      say(`durable sleep, due time -> code after it running (${SLEEPERS} sleeps, ms):`);
      say(
        `   due over ${SPREAD_MS} ms: p50 ${fmt(spread.p50)}  p90 ${fmt(spread.p90)}  ` +
          `p99 ${fmt(spread.p99)}  max ${fmt(spread.max)}`,
      );
      say(
        `   all due at once:  p50 ${fmt(herd.p50)}  p90 ${fmt(herd.p90)}  p99 ${fmt(herd.p99)}  max ${fmt(herd.max)}`,
      );
    }

    await warmer.run({});
    const t0 = performance.now();
    const ref = await historian.runNoWait({});
    const recordedAt = await replayedAt.promise;
    replayedAt = deferred<number>();
    const recordMs = recordedAt - t0;
    // Evicted after 100 ms; when the sleep ends the worker fetches the history and replays it.
    const readsBefore = worker.historyReads;
    const caughtUpAt = await replayedAt.promise;
    const replayOnWorker = caughtUpAt - replayStarted;
    // The sleep is due 1 s after the last call: the wake-up, the history read and the replay.
    const wakeToCaughtUp = caughtUpAt - (recordedAt + 1000);
    const reads = worker.historyReads;
    await ref.result();
    say(`a durable task with ${CALLS} memo calls:`);
    say(
      `   recording them, one round trip each: ${fmt(recordMs)} ms (${fmt((recordMs / CALLS) * 1000)} µs per call)`,
    );
    const early = perCallAround(callTimes, 100);
    const late = perCallAround(callTimes, CALLS);
    say(
      `   per call around call 100: ${fmt(early * 1000)} µs, around call ${CALLS}: ` +
        `${fmt(late * 1000)} µs (ratio ${fmt(late / early, 2)})`,
    );
    const history = await skein.runs.history(ref.runId);
    const t1 = performance.now();
    const report = await replayHistory(historian, history);
    const offlineMs = performance.now() - t1;
    if (!report.ok) throw new Error(`offline replay failed: ${report.error?.message}`);
    say(
      `   resumed by replay on a worker (calls replayed, after the history was read): ${fmt(replayOnWorker, 1)} ms`,
    );
    say(
      `   from the sleep's due time to the replay caught up (wake-up, history read, replay): ` +
        `${fmt(wakeToCaughtUp)} ms`,
    );
    say(
      `   history read for that replay: ${reads.requests - readsBefore.requests} request(s), ` +
        `${reads.calls - readsBefore.calls} call(s) (the worker kept the ${CALLS} it had)`,
    );
    const t2 = performance.now();
    const pages = await skein.runs.history(ref.runId, { limit: 1_000_000 });
    say(
      `   runs.history of the run: ${pages.length} events in ${fmt(performance.now() - t2)} ms, ` +
        `read in pages that each fit in a NATS message`,
    );
    say(`   replayHistory offline: ${fmt(offlineMs, 1)} ms`);
    const cold = await coldReplay(skein);
    say(
      `   the same history replayed by a worker that has none of it: ${fmt(cold.ms)} ms from ` +
        `the event's push, ${cold.reads.requests} request(s), ${cold.reads.calls} call(s)`,
    );
    say(
      `bench-durable: wake_p50_ms=${fmt(spread.p50)} wake_p99_ms=${fmt(spread.p99)} ` +
        `herd_wake_p50_ms=${fmt(herd.p50)} herd_wake_p99_ms=${fmt(herd.p99)} ` +
        `record_${CALLS}_ms=${fmt(recordMs)} call_at_100_us=${fmt(early * 1000)} ` +
        `call_at_${CALLS}_us=${fmt(late * 1000)} call_cost_ratio=${fmt(late / early, 2)} ` +
        `replay_${CALLS}_on_worker_ms=${fmt(replayOnWorker, 1)} ` +
        `wake_to_replayed_ms=${fmt(wakeToCaughtUp)} cold_wake_to_replayed_ms=${fmt(cold.ms)} ` +
        `replay_${CALLS}_offline_ms=${fmt(offlineMs, 1)}`,
    );
    await worker.stop();
  });
}

await main();
