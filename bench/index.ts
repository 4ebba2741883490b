/**
 * The run index at scale (`npm run bench:index`): BENCH_INDEX_RUNS [100000] finished runs
 * across 20 names and 5 metadata values, then, while the engine runs BENCH_INDEX_LOAD [1000]
 * tasks/s, BENCH_INDEX_SAMPLES [200] of each query: a page of 50 with a status + name filter,
 * a page of 50 with a metadata filter, runs.counts (no filter, and name + status). Then the
 * index's memory per retained run, measured by folding the same journal in this process.
 * Results: bench/README.md "Run index".
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { Skein } from 'skein';
import { encodeTable } from '../runtime/codec.js';
import { decodeEntry } from '../runtime/journal-entries.js';
import { names } from '../runtime/protocol.js';
import { RunIndexStore } from '../runtime/run-index/store.js';
import { idOfJournalSubject } from '../runtime/subjects.js';
import { withBenchSkein } from './harness.js';
import { fillRuns, steadyLoad } from './run-fill.js';
import { fmt, latencySummary, mb, sleep } from './util.js';

const RUNS = Number(process.env.BENCH_INDEX_RUNS ?? 100_000);
const LOAD_PER_S = Number(process.env.BENCH_INDEX_LOAD ?? 1_000);
const SAMPLES = Number(process.env.BENCH_INDEX_SAMPLES ?? 200);
const NAMES = 20;
const META = 5;
const CHUNK = 2_000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapAfterGc = () => {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
};

const nameOf = (i: number) => `idx-${String(i % NAMES).padStart(2, '0')}`;
const tenantOf = (i: number) => `t${Math.floor(i / NAMES) % META}`;
/** One run in ten of each name fails (no retries): FAILED runs to filter on. */
const fn = (n: number) => {
  if (Math.floor(n / NAMES) % 10 === 0) throw new Error(`run ${n} fails on purpose`);
  return null;
};
const declare = (skein: Skein) => [
  ...Array.from({ length: NAMES }, (_, i) => skein.task({ name: nameOf(i), fn })),
  skein.task({ name: 'idx-load', fn: () => null }),
];

async function timed<T>(samples: number[], call: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const out = await call();
  samples.push(performance.now() - t0);
  return out;
}

await withBenchSkein('bi', async ({ skein, client, engine, url, namespace }) => {
  const tasks = declare(skein);
  const worker = await client().worker('bench-index', { workflows: declare(client()), slots: 200 });
  await worker.start();
  const mem0 = await engine.memory();

  // 1. Fill: RUNS finished runs, chunk by chunk.
  const fillS = await fillRuns(tasks.slice(0, NAMES), {
    runs: RUNS,
    chunk: CHUNK,
    tenantOf,
    progress: (n, s) => console.log(`filled ${fmt(n)} runs, ${fmt(n / s)}/s`),
  });
  const filled = await skein.runs.counts();
  console.log(`fill: ${fmt(RUNS)} runs in ${fmt(fillS, 1)} s; counts ${JSON.stringify(filled)}`);
  const mem1 = await engine.memory();

  // 2. A steady load while the queries run.
  const load = steadyLoad(tasks[NAMES], LOAD_PER_S);
  await sleep(3_000); // the load settles in

  // 3. The queries, interleaved.
  const byStatusName: number[] = [];
  const byMeta: number[] = [];
  const countsAll: number[] = [];
  const countsFiltered: number[] = [];
  let pageSizes = 0;
  for (let s = 0; s < SAMPLES; s++) {
    const a = await timed(byStatusName, () =>
      skein.runs.page({ status: 'COMPLETED', name: nameOf(s), limit: 50 }),
    );
    const b = await timed(byMeta, () =>
      skein.runs.page({ additionalMetadata: { tenant: `t${s % META}` }, limit: 50 }),
    );
    await timed(countsAll, () => skein.runs.counts());
    await timed(countsFiltered, () => skein.runs.counts({ name: nameOf(s), status: 'FAILED' }));
    pageSizes += a.runs.length + b.runs.length;
  }
  const { loaded, seconds: loadS } = await load.stop();
  console.log(
    `load: ${fmt(loaded)} tasks in ${fmt(loadS, 1)} s = ${fmt(loaded / loadS)}/s during the queries`,
  );
  if (pageSizes !== SAMPLES * 100) throw new Error(`pages short: ${pageSizes} runs`);

  const show = (label: string, samples: number[], target: number) => {
    const l = latencySummary(samples);
    console.log(
      `${label.padEnd(44)} p50 ${fmt(l.p50, 1).padStart(6)} ms  p99 ${fmt(l.p99, 1).padStart(6)} ms  max ${fmt(l.max, 1).padStart(6)} ms  (target p99 <= ${target} ms)`,
    );
    return l.p99;
  };
  const p99a = show('page of 50, status + name', byStatusName, 50);
  const p99b = show('page of 50, additionalMetadata', byMeta, 100);
  const p99c = show('runs.counts, no filter', countsAll, 100);
  const p99d = show('runs.counts, name + status', countsFiltered, 100);

  // 4. Memory per retained run: the same journal folded into a store here.
  const nc = await connect({ servers: url });
  const n = names(namespace);
  const jsm = await jetstreamManager(nc);
  const last = (await jsm.streams.info(n.streams.journal)).state.last_seq;
  const consumer = await jetstream(nc).consumers.get(n.streams.journal, {
    filter_subjects: n.journalAll('run'),
    deliver_policy: DeliverPolicy.All,
  });
  const heapBefore = heapAfterGc();
  const store = new RunIndexStore();
  const tFold = performance.now();
  const messages = await consumer.consume({ max_messages: 1000 });
  for await (const m of messages) {
    store.apply(idOfJournalSubject(m.subject), m.seq, decodeEntry(m.data, m.headers));
    if (m.seq >= last || m.info.pending === 0) break;
  }
  await messages.close();
  const foldS = (performance.now() - tFold) / 1000;
  const heapAfter = heapAfterGc();
  const perRun = (heapAfter - heapBefore) / store.size;
  // As checkpoint.ts encodes it: slices of 1,000 records, the engine's other work between them.
  const records = [...store.records()];
  let checkpointBytes = 0;
  let encodeMs = 0;
  let longestSliceMs = 0;
  for (let i = 0; i < records.length; i += 1_000) {
    const t = performance.now();
    checkpointBytes += encodeTable(records.slice(i, i + 1_000)).length;
    const ms = performance.now() - t;
    encodeMs += ms;
    longestSliceMs = Math.max(longestSliceMs, ms);
  }
  const objectStream = await jsm.streams.info(`OBJ_${n.buckets.runIndex}`);
  await nc.close();
  console.log(
    `index memory: ${fmt(store.size)} runs, heap +${fmt(mb(heapAfter - heapBefore), 1)} MB = ${fmt(perRun)} bytes per run (folded in ${fmt(foldS, 1)} s)`,
  );
  console.log(
    `checkpoint: ${fmt(mb(checkpointBytes), 1)} MB (${fmt(checkpointBytes / store.size)} bytes per run), encoded in ${fmt(encodeMs)} ms (longest slice ${fmt(longestSliceMs, 1)} ms); object store holds ${fmt(mb(objectStream.state.bytes), 1)} MB`,
  );
  console.log(
    `engine heap after GC: ${fmt(mb(mem0.heapUsed), 1)} MB before the fill, ${fmt(mb(mem1.heapUsed), 1)} MB after (index and run cache together: ${fmt((mem1.heapUsed - mem0.heapUsed) / RUNS)} bytes per run)`,
  );
  console.log(
    `bench-index: runs=${RUNS} load_per_s=${Math.round(loaded / loadS)} page_status_name_p99_ms=${p99a.toFixed(1)} page_meta_p99_ms=${p99b.toFixed(1)} counts_p99_ms=${p99c.toFixed(1)} counts_filtered_p99_ms=${p99d.toFixed(1)} bytes_per_run=${Math.round(perRun)}`,
  );
});
