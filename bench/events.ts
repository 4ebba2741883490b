/**
 * `npm run bench:events`: how fast events start work, on this machine.
 *   - push -> task start: one task subscribed to a key; events pushed one at a time, each
 *     after the previous one's task started; the time from `push()` being called to the
 *     task's code running (client, worker and clock in this process; engine in a child).
 *   - fan-out: one event to 100 subscribed workflows; the time from `push()` to the 100th
 *     task starting and to the 100th run ending, and runs started per second.
 * Knobs: BENCH_EVENT_PINGS [300], BENCH_FANOUT_WORKFLOWS [100], BENCH_FANOUT_ROUNDS [5].
 */
import { connect } from '@nats-io/transport-node';
import { withBenchSkein } from './harness.js';
import { deferred, envInt, fmt, latencySummary, say } from './util.js';

const int = envInt;
const PINGS = int('BENCH_EVENT_PINGS', 300);
const FANOUT = int('BENCH_FANOUT_WORKFLOWS', 100);
const ROUNDS = int('BENCH_FANOUT_ROUNDS', 5);

async function main() {
  await withBenchSkein('bev', async ({ url, namespace, skein: client, client: another }) => {
    const workerClient = another();
    const watcher = await connect({ servers: url });
    try {
      // push -> task start
      let started = deferred<number>();
      const ping = workerClient.task({
        name: 'ping',
        onEvents: ['bench:ping'],
        fn: () => {
          started.resolve(performance.now());
        },
      });
      // fan-out: FANOUT workflows on one key
      let fanStarted = 0;
      let fanDone = 0;
      let allStarted = deferred<number>();
      let allDone = deferred<number>();
      const workflows = Array.from({ length: FANOUT }, (_, i) => {
        const wf = workerClient.workflow({ name: `fan-${i}`, onEvents: ['bench:fanout'] });
        wf.task({
          name: `fan-${i}-task`,
          fn: () => {
            if (++fanStarted === FANOUT) allStarted.resolve(performance.now());
            return i;
          },
        });
        return wf;
      });
      const worker = await workerClient.worker('bench-events', {
        workflows: [ping, ...workflows],
        slots: 2 * FANOUT,
      });
      await worker.start();
      // Runs nobody waits on announce their end on <ns>.done.<runId> (runtime/protocol.ts).
      const doneSub = watcher.subscribe(`${namespace}.done.>`, {
        callback: () => {
          if (++fanDone === FANOUT) allDone.resolve(performance.now());
        },
      });

      for (let i = 0; i < 20; i++) {
        started = deferred<number>();
        await client.events.push('bench:ping', { i });
        await started.promise;
      }
      const latencies: number[] = [];
      for (let i = 0; i < PINGS; i++) {
        started = deferred<number>();
        const t0 = performance.now();
        await client.events.push('bench:ping', { i });
        latencies.push((await started.promise) - t0);
      }
      const l = latencySummary(latencies);
      say(`push -> task start, ${PINGS} events one at a time (ms):`);
      say(
        `   p50 ${fmt(l.p50, 1)}  p90 ${fmt(l.p90, 1)}  p99 ${fmt(l.p99, 1)}  max ${fmt(l.max, 1)}`,
      );

      const toStart: number[] = [];
      const toDone: number[] = [];
      for (let r = 0; r < ROUNDS + 1; r++) {
        fanStarted = 0;
        fanDone = 0;
        allStarted = deferred<number>();
        allDone = deferred<number>();
        const t0 = performance.now();
        await client.events.push('bench:fanout', { round: r });
        const s = (await allStarted.promise) - t0;
        const d = (await allDone.promise) - t0;
        if (r === 0) continue; // warm-up
        toStart.push(s);
        toDone.push(d);
      }
      const s = latencySummary(toStart);
      const d = latencySummary(toDone);
      say(`one event -> ${FANOUT} workflows, ${ROUNDS} rounds (ms, median of rounds):`);
      say(
        `   all ${FANOUT} started ${fmt(s.p50, 1)} (best ${fmt(Math.min(...toStart), 1)})  ` +
          `all ended ${fmt(d.p50, 1)}  => ${fmt((FANOUT / d.p50) * 1000)} runs/s`,
      );
      say(
        `bench-events: push_to_start_p50_ms=${fmt(l.p50, 1)} push_to_start_p99_ms=${fmt(l.p99, 1)} ` +
          `fanout${FANOUT}_started_ms=${fmt(s.p50, 1)} fanout${FANOUT}_ended_ms=${fmt(d.p50, 1)} ` +
          `fanout_runs_per_s=${fmt((FANOUT / d.p50) * 1000)}`,
      );
      doneSub.unsubscribe();
      await worker.stop();
    } finally {
      await watcher.close();
    }
  });
}

await main();
