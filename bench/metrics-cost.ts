/**
 * `npm run bench:metrics`: what the engine's metrics cost. The Skein phase of `npm run bench`
 * (no-op tasks triggered in chunks, one worker) is run with metrics on and off in alternating
 * runs, each on a fresh engine process and namespace; the engine's own CPU time (process.cpuUsage
 * over IPC) is divided by the tasks of the timed phase. On a shared machine that figure moves
 * by more than the metrics cost, so the bench first times the metrics code itself: the calls one
 * no-op task makes into it (a creation read, a dispatch, an append, a result turn), and
 * profiles each engine (V8 CPU profile) to say what share of its CPU the metrics code took.
 * See bench/README.md.
 *   METRICS_BENCH_ROUNDS [3] (each one run on, one off; the order alternates)
 *   METRICS_BENCH_PROFILE [1] (0: no CPU profile of the engine)
 *   BENCH_TASKS [20000]  BENCH_WARMUP [2000]  BENCH_CHUNK [2000]  BENCH_SLOTS [200]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Skein } from 'skein';
import { startNatsServer } from '../test/support/nats-server.js';
import { cpuBetween, loadAverage, sampleCpu } from './cpu.js';
import { EngineChild } from './skein.js';
import { envInt, fmt, say, watched } from './util.js';
import { EngineMetrics } from '../runtime/metrics/engine-metrics.js';
import type { RunBefore } from '../runtime/metrics/run-turns.js';
import type { JournalEntry } from '../runtime/journal-entries.js';
import type { QueuedTask } from '../actors/scheduler/queued-task.js';

const ROUNDS = envInt('METRICS_BENCH_ROUNDS', 3) || 3;
const TASKS = envInt('BENCH_TASKS', 20_000) || 20_000;
const WARMUP = envInt('BENCH_WARMUP', 2_000);
const CHUNK = envInt('BENCH_CHUNK', 2_000) || 2_000;
const SLOTS = envInt('BENCH_SLOTS', 200) || 200;
const PROFILE = process.env.METRICS_BENCH_PROFILE !== '0';

interface RunResult {
  metrics: boolean;
  cpuMicrosPerTask: number;
  tasksPerS: number;
  cpu: string;
  /** On: the engine's own count of runs finished, scraped after the run. */
  scrapedFinished?: number;
  /** Of the engine's busy CPU samples (its whole life), the share in metrics code, in %. */
  profileShare?: number;
}

/** A V8 CPU profile, as `--cpu-prof` writes it. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Busy time (not idle) of a profile, and the part of it in Skein's metrics code and prom-client. */
function busyTime(profile: CpuProfile): { busy: number; inMetrics: number } {
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  let busy = 0;
  let inMetrics = 0;
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id);
    const dt = profile.timeDeltas[i] ?? 0;
    if (!frame || frame.functionName === '(idle)') return;
    busy += dt;
    if (/\/runtime\/metrics\/|\/node_modules\/prom-client\//.test(frame.url)) inMetrics += dt;
  });
  return { busy, inMetrics };
}

/** The share of the engine's busy time (in %) the profiles in `dir` spent in metrics code. */
function metricsShare(dir: string): number | undefined {
  // One profile per thread: the engine's main thread is the busiest.
  const times = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => busyTime(JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile))
    .sort((a, b) => b.busy - a.busy);
  const main = times[0];
  return main && main.busy > 0 ? (100 * main.inMetrics) / main.busy : undefined;
}

const logger = () => pino({ level: process.env.SKEIN_BENCH_LOG ?? 'warn' }, pino.destination(2));
const noopFn = () => null;

async function oneRun(natsUrl: string, metrics: boolean): Promise<RunResult> {
  const namespace = `mbench${randomUUID().slice(0, 8)}`;
  // The engine child reads it at start (bench/engine-process.ts).
  process.env.SKEIN_BENCH_METRICS = metrics ? '1' : '0';
  const profDir = PROFILE ? mkdtempSync(join(tmpdir(), 'skein-mbench-')) : undefined;
  if (profDir) process.env.SKEIN_BENCH_CPU_PROF_DIR = profDir;
  const { engine } = await EngineChild.start(natsUrl, namespace);
  delete process.env.SKEIN_BENCH_CPU_PROF_DIR;
  let result: RunResult | undefined;
  const client = Skein.init({ natsUrl, namespace, logger: logger() });
  const workerClient = Skein.init({ natsUrl, namespace, logger: logger() });
  try {
    const noop = client.task({ name: 'bench-noop', fn: noopFn });
    const worker = await workerClient.worker('bench-worker', {
      workflows: [workerClient.task({ name: 'bench-noop', fn: noopFn })],
      slots: SLOTS,
    });
    await worker.start();
    const batch = async (total: number) => {
      let completed = 0;
      const work = (async () => {
        const results: Promise<unknown>[] = [];
        for (let i = 0; i < total; i += CHUNK) {
          const refs = await noop.runManyNoWait(
            Array.from({ length: Math.min(CHUNK, total - i) }, (_, j) => ({ input: { n: i + j } })),
          );
          for (const ref of refs) results.push(ref.result().then(() => completed++));
        }
        await Promise.all(results);
      })();
      await watched('metrics bench', work, () => completed, 120_000, 900_000);
    };
    await batch(WARMUP);
    const cpu0 = sampleCpu();
    const before = await engine.cpuMicros();
    const t0 = performance.now();
    await batch(TASKS);
    const seconds = (performance.now() - t0) / 1000;
    const used = (await engine.cpuMicros()) - before;
    const cpu = cpuBetween(cpu0, sampleCpu());
    let scrapedFinished: number | undefined;
    if (metrics) {
      const text = await (await fetch(`http://127.0.0.1:${engine.httpPort}/metrics`)).text();
      const line = text
        .split('\n')
        .find((l) =>
          l.startsWith('skein_runs_finished_total{name="bench-noop",status="COMPLETED"}'),
        );
      scrapedFinished = line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : undefined;
    }
    await worker.stop();
    result = {
      metrics,
      cpuMicrosPerTask: used / TASKS,
      tasksPerS: TASKS / seconds,
      cpu,
      scrapedFinished,
    };
  } finally {
    await client.close().catch(() => undefined);
    await workerClient.close().catch(() => undefined);
    await engine.stop(); // the profile is written as the engine exits
  }
  if (profDir) {
    result.profileShare = metricsShare(profDir);
    rmSync(profDir, { recursive: true, force: true });
  }
  return result;
}

/** µs of metrics code per no-op task: the four calls it makes, on entries shaped as the engine's. */
function directCost(iterations: number): number {
  const metrics = new EngineMetrics({
    logger: pino({ level: 'silent' }),
    now: () => Date.now(),
    scheduler: () => undefined,
    leading: () => true,
  });
  const name = 'bench-noop';
  const spec = { name, kind: 'task', tasks: [{ name }] };
  const key = 'r:bench-noop:0.1';
  const at = Date.now();
  const creation: JournalEntry = {
    m: 't',
    at,
    ev: [
      { type: 'RunTriggered', runId: 'r', spec, at },
      { type: 'TaskQueued', taskName: name, key, attempt: 1, at },
    ],
    fx: [],
  };
  const result: JournalEntry = {
    m: 'x',
    at,
    ev: [
      { type: 'TaskStarted', taskName: name, key, attempt: 1, workerId: 'w', at },
      { type: 'TaskSucceeded', taskName: name, key, output: null, at: at + 1 },
      { type: 'RunCompleted', output: null, at: at + 2 },
    ],
    fx: [],
  };
  const before = {
    spec,
    createdAt: at,
    tasks: { [name]: { name, status: 'QUEUED', attempt: 1, key } },
  } as unknown as RunBefore;
  const task = { taskName: name, enqueuedAt: at } as QueuedTask;
  const once = () => {
    metrics.runCreated(creation);
    metrics.dispatched(task, at + 1);
    metrics.journalAppended(0.4);
    metrics.runTurn(result, before);
  };
  for (let i = 0; i < 50_000; i++) once();
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) once();
  return ((performance.now() - t0) * 1000) / iterations;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

async function main() {
  say(`skein metrics cost — ${new Date().toISOString()}; load average ${loadAverage()}`);
  say(
    `${ROUNDS} rounds of one run with metrics on and one off (alternating order), ` +
      `${fmt(WARMUP)} warm-up + ${fmt(TASKS)} timed no-op tasks each, ${SLOTS} slots`,
  );
  const direct = directCost(500_000);
  say(`metrics code per no-op task, timed in this process: ${fmt(direct, 2)} µs`);
  const nats = await startNatsServer();
  const results: RunResult[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [true, false] : [false, true];
      for (const metrics of order) {
        const r = await oneRun(nats.url, metrics);
        results.push(r);
        say(
          `  round ${round + 1}, metrics ${metrics ? 'on ' : 'off'}: engine ${fmt(r.cpuMicrosPerTask, 1)} µs CPU/task, ` +
            `${fmt(r.tasksPerS)} tasks/s` +
            (r.scrapedFinished !== undefined
              ? `, /metrics counted ${fmt(r.scrapedFinished)} runs completed`
              : '') +
            (r.profileShare !== undefined
              ? `; profile: ${r.profileShare.toFixed(2)}% of the engine's CPU in metrics code`
              : ''),
        );
        say(`    cpu (100% = one core): ${r.cpu}`);
      }
    }
  } finally {
    await nats.stop();
  }
  const on = results.filter((r) => r.metrics);
  const off = results.filter((r) => !r.metrics);
  const onUs = median(on.map((r) => r.cpuMicrosPerTask));
  const offUs = median(off.map((r) => r.cpuMicrosPerTask));
  const diffPct = (100 * (onUs - offUs)) / offUs;
  // Each round's two runs ran back to back, so their difference is the least disturbed by
  // whatever else the machine did meanwhile.
  const paired = on.map(
    (r, i) => (100 * (r.cpuMicrosPerTask - off[i].cpuMicrosPerTask)) / off[i].cpuMicrosPerTask,
  );
  const onTps = median(on.map((r) => r.tasksPerS));
  const offTps = median(off.map((r) => r.tasksPerS));
  say();
  say(
    `median engine CPU per task: on ${fmt(onUs, 1)} µs, off ${fmt(offUs, 1)} µs, difference ${diffPct.toFixed(1)}% ` +
      `(target within 5%: ${Math.abs(diffPct) <= 5 ? 'met' : 'NOT met'}); ` +
      `median throughput on ${fmt(onTps)} / off ${fmt(offTps)} tasks/s`,
  );
  say(
    `difference within each round: ${paired.map((d) => `${d.toFixed(1)}%`).join(', ')}; median ${median(paired).toFixed(1)}%`,
  );
  say(
    `the metrics code itself (${fmt(direct, 2)} µs per task) is ${((100 * direct) / offUs).toFixed(1)}% of the engine's CPU per task without metrics`,
  );
  const shares = on.flatMap((r) => (r.profileShare === undefined ? [] : [r.profileShare]));
  const share = shares.length > 0 ? median(shares) : NaN;
  if (shares.length > 0)
    say(
      `CPU profiles of the engines with metrics on: median ${share.toFixed(2)}% of their busy time in metrics code ` +
        `(runtime/metrics/ and prom-client, scrapes included)`,
    );
  say(
    `bench-metrics: profile_share_pct=${Number.isFinite(share) ? share.toFixed(2) : 'NA'} direct_us_per_task=${direct.toFixed(2)} cpu_us_per_task_on=${onUs.toFixed(1)} cpu_us_per_task_off=${offUs.toFixed(1)} ` +
      `diff_pct=${diffPct.toFixed(1)} paired_diff_pct=${median(paired).toFixed(1)} tasks_per_s_on=${Math.round(onTps)} tasks_per_s_off=${Math.round(offTps)}`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      `metrics bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
