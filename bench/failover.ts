/**
 * `npm run bench:failover`: how long work stops when an engine is SIGKILLed (engines in child
 * processes; client and worker in this one). Each trial has its own nats-server and namespace.
 *   - survivor: engines A and B share the partitions, A leads; A is killed while 16 tasks run
 *     on the worker, and 64 new runs are triggered at once. Measured from the kill: B holds
 *     every partition and leads; every run has its result (the 16 finish on the worker at the
 *     kill, their results go to partitions nobody serves until the takeover).
 *   - replacement: one engine with a fixed id, killed the same way; a new engine process with
 *     the same id is started at once. Measured from its spawn: ready (startEngine resolved),
 *     every run has its result; and the same less the process's boot (Node, tsx, imports).
 * Knobs: BENCH_FAILOVER_TRIALS [10], BENCH_FAILOVER_RUNS [64], BENCH_FAILOVER_HELD [16].
 */
import type { Skein } from 'skein';
import { PARTITIONS } from '../runtime/protocol.js';
import { withBenchSkein } from './harness.js';
import { loadAverage } from './cpu.js';
import { EngineChild } from './skein.js';
import { deferred, envInt, fmt, latencySummary, say, sleep } from './util.js';

const TRIALS = envInt('BENCH_FAILOVER_TRIALS', 10);
const RUNS = envInt('BENCH_FAILOVER_RUNS', 64);
const HELD = envInt('BENCH_FAILOVER_HELD', 16);

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = performance.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (performance.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/**
 * A worker serving a task that holds HELD runs until `crash` and a task that answers at once.
 * `crash(kill)` kills, lets the held ones finish and triggers RUNS more; `done` resolves with
 * the time the last of them (held and new) had its result, in ms after the kill began.
 */
async function workload(skein: Skein) {
  const gate = deferred();
  let running = 0;
  const held = skein.task({
    name: 'bench-held',
    fn: async (n: number) => (running++, await gate.promise, n),
  });
  const probe = skein.task({ name: 'bench-probe', fn: (n: number) => n });
  await (await skein.worker('bench-failover', { workflows: [held, probe], slots: 200 })).start();
  await probe.run(-1);
  const heldRefs = await held.runManyNoWait(
    Array.from({ length: HELD }, (_, i) => held.createBulkRunItem(i)),
  );
  await until('held runs running', async () => running === HELD);
  return async (kill: () => Promise<void>) => {
    const t0 = performance.now();
    const since = () => performance.now() - t0;
    await kill();
    gate.resolve();
    const done = (async () => {
      const refs = await probe.runManyNoWait(
        Array.from({ length: RUNS }, (_, i) => probe.createBulkRunItem(i)),
      );
      const times = await Promise.all([...heldRefs, ...refs].map((r) => r.result().then(since)));
      return Math.max(...times);
    })();
    return { t0, since, done };
  };
}

async function survivorTrial(trial: number) {
  return withBenchSkein('bfs', async ({ url, namespace, skein, engine: a }) => {
    const { engine: b } = await EngineChild.start(url, namespace);
    try {
      await until('A and B share the partitions', async () => {
        const [sa, sb] = await Promise.all([a.status(), b.status()]);
        return sa.leader && sa.partitions.length === PARTITIONS / 2 && sb.partitions.length > 0;
      });
      const crash = await workload(skein);
      const { since, done: allDone } = await crash(() => a.kill());
      let takeover = NaN;
      await until('B takes over', async () => {
        const s = await b.status();
        if (s.leader && s.partitions.length === PARTITIONS) takeover = since();
        return Number.isFinite(takeover);
      });
      const done = await allDone;
      say(
        `survivor ${trial}: B leads and serves all ${PARTITIONS} partitions ${fmt(takeover)} ms after the kill; ` +
          `all ${HELD + RUNS} results in ${fmt(done)} ms (load ${loadAverage()})`,
      );
      return { takeover, done };
    } finally {
      await b.stop();
    }
  });
}

async function replacementTrial(trial: number) {
  const id = 'bench-engine';
  return withBenchSkein(
    'bfr',
    async ({ url, namespace, skein, engine: a }) => {
      const crash = await workload(skein);
      let spawned = 0;
      let ready = 0;
      let boot = 0;
      let next: EngineChild | undefined;
      try {
        const result = await crash(async () => {
          await a.kill();
          spawned = performance.now();
          void EngineChild.start(url, namespace, id).then(({ engine, bootMs }) => {
            ready = performance.now() - spawned;
            boot = bootMs;
            next = engine;
          });
        });
        const done = (await result.done) - (spawned - result.t0);
        await until('the replacement reported ready', async () => next !== undefined);
        say(
          `replacement ${trial}: ready ${fmt(ready)} ms after its spawn (Node, tsx and imports ${fmt(boot)} ms); ` +
            `all ${HELD + RUNS} results in ${fmt(done)} ms after its spawn, ${fmt(done - boot)} ms after startEngine() began` +
            ` (load ${loadAverage()})`,
        );
        return { ready, done, engine: done - boot };
      } finally {
        await next?.stop();
      }
    },
    { engineId: id },
  );
}

const line = (label: string, xs: number[]) => {
  const l = latencySummary(xs);
  say(
    `${label}: median ${fmt(l.p50)} ms, worst ${fmt(l.max)} ms (${xs.map((x) => fmt(x)).join(', ')})`,
  );
  return l;
};

async function main() {
  say(`failover: ${TRIALS} trials each, ${HELD} runs held at the kill + ${RUNS} triggered after`);
  const survivor = [];
  for (let i = 1; i <= TRIALS; i++) survivor.push(await survivorTrial(i));
  const replacement = [];
  for (let i = 1; i <= TRIALS; i++) replacement.push(await replacementTrial(i));
  say();
  line(
    'survivor: kill -> B leads and serves every partition',
    survivor.map((r) => r.takeover),
  );
  const s = line(
    'survivor: kill -> every result in',
    survivor.map((r) => r.done),
  );
  line(
    'replacement: spawn -> ready',
    replacement.map((r) => r.ready),
  );
  const r = line(
    'replacement: spawn -> every result in',
    replacement.map((r) => r.done),
  );
  line(
    'replacement: startEngine() -> every result in',
    replacement.map((r) => r.engine),
  );
  say(
    `bench-failover: survivor_worst_ms=${Math.round(s.max)} survivor_median_ms=${Math.round(s.p50)} ` +
      `replacement_worst_ms=${Math.round(r.max)} replacement_median_ms=${Math.round(r.p50)}`,
  );
}

await main();
process.exit(0);
