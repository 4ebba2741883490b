/**
 * The dashboard at scale (`npm run bench:dashboard`): BENCH_DASH_RUNS [100000] finished runs
 * (20 names, 5 values of a metadata key), then, while the engine runs BENCH_DASH_LOAD [500]
 * tasks/s, BENCH_DASH_SAMPLES [200] requests of each runs page (no filter; status + name;
 * metadata) and of a run page whose history holds ~1,000 events (a durable task's memo calls),
 * timed to the response's first byte from a client on this machine. The engine is the bench's
 * child process, which serves HTTP on loopback (no token). Results: bench/README.md "Dashboard".
 */
import { request } from 'node:http';
import { loadavg } from 'node:os';
import type { Skein } from 'skein';
import { withBenchSkein } from './harness.js';
import { fillRuns, steadyLoad } from './run-fill.js';
import { fmt, latencySummary, sleep } from './util.js';

const RUNS = Number(process.env.BENCH_DASH_RUNS ?? 100_000);
const LOAD_PER_S = Number(process.env.BENCH_DASH_LOAD ?? 500);
const SAMPLES = Number(process.env.BENCH_DASH_SAMPLES ?? 200);
const HISTORY_EVENTS = 1_000;
const NAMES = 20;
const META = 5;
const CHUNK = 2_000;

const nameOf = (i: number) => `dash-${String(i % NAMES).padStart(2, '0')}`;
const tenantOf = (i: number) => `t${Math.floor(i / NAMES) % META}`;
const declare = (skein: Skein) => [
  ...Array.from({ length: NAMES }, (_, i) => skein.task({ name: nameOf(i), fn: () => null })),
  skein.task({ name: 'dash-load', fn: () => null }),
  skein.durableTask({
    name: 'dash-long-history',
    fn: async (_input: unknown, ctx) => {
      // Each memo call records one event (DurableCallRecorded).
      for (let i = 0; i < HISTORY_EVENTS; i++) await ctx.memo(async () => i);
      return 'done';
    },
  }),
];

/** Milliseconds to the response's first byte (its status line), the status and the body. */
function firstByte(
  port: number,
  path: string,
): Promise<{ ms: number; status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const ms = performance.now() - t0;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ ms, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

await withBenchSkein('bd', async ({ skein, client, engine }) => {
  const tasks = declare(skein);
  const worker = await client().worker('bench-dash', { workflows: declare(client()), slots: 200 });
  await worker.start();

  // 1. Fill.
  const fillS = await fillRuns(tasks.slice(0, NAMES), {
    runs: RUNS,
    chunk: CHUNK,
    tenantOf,
    progress: (n) => console.log(`filled ${fmt(n)} runs`),
  });
  console.log(`fill: ${fmt(RUNS)} runs in ${fmt(fillS, 1)} s`);
  const long = await tasks[NAMES + 1].runNoWait({});
  await long.result();
  const historyLength = (await skein.runs.history(long.runId)).length;
  console.log(`long history: run ${long.runId}, ${fmt(historyLength)} events`);

  // 2. A steady load while the pages are read.
  const load = steadyLoad(tasks[NAMES], LOAD_PER_S);
  await sleep(3_000);

  // 3. The pages, interleaved.
  const port = engine.httpPort;
  const pages: { label: string; path: (s: number) => string; target: number; ms: number[] }[] = [
    { label: 'runs page, no filter', path: () => '/runs', target: 150, ms: [] },
    {
      label: 'runs page, status + name',
      path: (s) => `/runs?status=COMPLETED&name=${nameOf(s)}`,
      target: 150,
      ms: [],
    },
    {
      label: 'runs page, metadata',
      path: (s) => `/runs?meta=tenant%3D${tenantOf(s * NAMES)}`,
      target: 150,
      ms: [],
    },
    {
      label: `run page, ${fmt(historyLength)}-event history`,
      path: () => `/runs/${encodeURIComponent(long.runId)}`,
      target: 300,
      ms: [],
    },
  ];
  // For comparison: the SDK calls behind the unfiltered runs page, from a client here.
  pages.push(
    { label: 'SDK runs.page({ limit: 50 })', path: () => 'sdk:page', target: 150, ms: [] },
    { label: 'SDK runs.counts()', path: () => 'sdk:counts', target: 150, ms: [] },
  );
  const sdk: Record<string, () => Promise<unknown>> = {
    'sdk:page': () => skein.runs.page({ limit: 50 }),
    'sdk:counts': () => skein.runs.counts(),
  };
  // The box's load while sampling: on a shared machine the tails follow it.
  const load1 = () => loadavg()[0].toFixed(1);
  const loadAtStart = load1();
  const missing = new Set<string>();
  const failed = new Map<string, number>();
  for (let s = 0; s < SAMPLES; s++) {
    for (const page of pages) {
      if (missing.has(page.label)) continue;
      const call = sdk[page.path(s)];
      if (call) {
        const t = performance.now();
        try {
          await call();
          page.ms.push(performance.now() - t);
        } catch (err) {
          // Counted, not timed, as a page that failed.
          failed.set(page.label, (failed.get(page.label) ?? 0) + 1);
          console.log(
            `${page.label} failed after ${fmt(performance.now() - t)} ms: ${String(err)}`,
          );
        }
        continue;
      }
      const { ms, status, body } = await firstByte(port, page.path(s));
      if (status === 404) missing.add(page.label);
      else if (status === 200) page.ms.push(ms);
      else {
        // Counted, not timed: a page that failed (the engine overloaded, a leader change).
        failed.set(page.label, (failed.get(page.label) ?? 0) + 1);
        const why = body
          .replace(/<[^>]*>/g, ' ')
          .replace(/\s+/g, ' ')
          .slice(-300);
        console.log(`${page.path(s)} answered ${status} after ${fmt(ms)} ms: ${why}`);
      }
    }
  }
  const loadAtEnd = load1();
  const { loaded, seconds: loadS } = await load.stop();
  console.log(
    `load: ${fmt(loaded / loadS)} tasks/s during the requests; load average ${loadAtStart} -> ${loadAtEnd}`,
  );

  const keys: string[] = [];
  for (const page of pages) {
    if (missing.has(page.label)) {
      console.log(`${page.label.padEnd(36)} not served by this build (404): not measured`);
      continue;
    }
    const l = latencySummary(page.ms);
    console.log(
      `${page.label.padEnd(36)} first byte p50 ${fmt(l.p50, 1).padStart(6)} ms  p99 ${fmt(l.p99, 1).padStart(6)} ms  max ${fmt(l.max, 1).padStart(6)} ms  (target p99 <= ${page.target} ms; ${page.ms.length} answered, ${failed.get(page.label) ?? 0} failed)`,
    );
    keys.push(
      `${page.label.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}_p99_ms=${l.p99.toFixed(1)}`,
    );
  }
  console.log(
    `bench-dashboard: runs=${RUNS} load_per_s=${Math.round(loaded / loadS)} ${keys.join(' ')}`,
  );
});
