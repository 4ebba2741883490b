/**
 * `npm run bench`: Skein against the JetStream ceiling and BullMQ, on this machine.
 * See bench/README.md for what each number means. Environment knobs (defaults in brackets):
 *   BENCH_TASKS [20000]  BENCH_WARMUP [1000]  BENCH_CHUNK [2000]  BENCH_SLOTS [200]
 *   BENCH_ROUND_TRIPS [1000]  BENCH_MEM_AT [10000,100000]  BENCH_CEILING_MSGS [50000]
 *   BENCH_SHARED_CLIENT [1] (also time triggers + worker on one client)  BENCH_SKIP_BULLMQ=1
 *   SKEIN_BENCH_LOG [warn]  BENCH_PROFILE_DIR (CPU profiles of the timed phase there)
 *   BENCH_PROFILE_INTERVAL_US [250]  BENCH_PROFILE_HEAP=1 (sampled allocations too)
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { benchBullMQ, probeRedis, type BullResults } from './bullmq.js';
import { measureJetStreamCeiling, type CeilingResult } from './js-ceiling.js';
import { benchSkein, type SkeinResults } from './skein.js';
import { findNatsServerBinary, startNatsServer } from '../test/support/nats-server.js';
import { loadAverage } from './cpu.js';
import { envInt, fmt, mb, say } from './util.js';

const int = envInt;

const TASKS = int('BENCH_TASKS', 20_000);
const WARMUP = int('BENCH_WARMUP', 1_000);
const CHUNK = int('BENCH_CHUNK', 2_000) || 2_000;
const SLOTS = int('BENCH_SLOTS', 200) || 200;
const ROUND_TRIPS = int('BENCH_ROUND_TRIPS', 1_000);
const CEILING_MSGS = int('BENCH_CEILING_MSGS', 50_000) || 50_000;
const MEM_AT = (process.env.BENCH_MEM_AT ?? '10000,100000').split(',').map(Number) as [
  number,
  number,
];
const SHARED_CLIENT = process.env.BENCH_SHARED_CLIENT !== '0';

const section = (title: string) => say(`\n== ${title}`);
const indent = (line: string) => say(`   ${line}`);

function versionOf(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

async function main() {
  const started = Date.now();
  const natsBin = findNatsServerBinary();
  say(`skein bench — ${new Date().toISOString()}`);
  say(
    `machine: ${os.cpus().length} cpu (${os.cpus()[0]?.model ?? '?'}), ${fmt(os.totalmem() / 2 ** 30, 1)} GiB, node ${process.version}, ` +
      `${natsBin ? versionOf(natsBin, ['--version']) : 'nats-server: (docker)'}`,
  );

  say(
    `load average at start: ${loadAverage()} (other work on the machine skews every figure below)`,
  );
  const nats = await startNatsServer();
  say(`nats-server on ${nats.url}, store ${nats.storeDir}`);
  let ceiling: CeilingResult;
  let skein: SkeinResults;
  try {
    section(
      `1. JetStream ceiling: ${fmt(CEILING_MSGS)} pipelined publishes of 600 bytes, 2,000 in flight, file stream`,
    );
    ceiling = await measureJetStreamCeiling(nats.url, {
      messages: CEILING_MSGS,
      size: 600,
      window: 2_000,
    });
    indent(`core publish + reply inbox (as the engine publishes): ${fmt(ceiling.rawPerS)} msgs/s`);
    indent(
      `@nats-io/jetstream js.publish():                      ${fmt(ceiling.clientPerS)} msgs/s`,
    );

    section(
      `2. Skein: engine in a child process; here a client that triggers and a worker (${SLOTS} slots) on a client of its own; ` +
        `${fmt(WARMUP)} warm-up, ${fmt(TASKS)} timed, ${fmt(ROUND_TRIPS)} round trips, memory at ${MEM_AT.map((n) => fmt(n)).join(' / ')}`,
    );
    skein = await benchSkein(
      nats.url,
      {
        warmup: WARMUP,
        tasks: TASKS,
        chunk: CHUNK,
        slots: SLOTS,
        roundTrips: ROUND_TRIPS,
        memAt: MEM_AT,
        sharedClient: SHARED_CLIENT,
        profileDir: process.env.BENCH_PROFILE_DIR || undefined,
      },
      indent,
    );
  } finally {
    await nats.stop();
  }

  section(
    '3. Persisted JetStream writes during the timed phase (last_seq deltas from jsm.streams.info)',
  );
  const w = skein.writes;
  indent(
    `${'stream'.padEnd(28)} ${'writes'.padStart(8)} ${'per task'.padStart(9)} ${'stored Δ'.padStart(9)} ${'bytes Δ'.padStart(11)}`,
  );
  for (const s of w.streams) {
    indent(
      `${s.name.padEnd(28)} ${fmt(s.writes).padStart(8)} ${fmt(s.writes / TASKS, 4).padStart(9)} ${fmt(s.storedDelta).padStart(9)} ${fmt(s.bytesDelta).padStart(11)}`,
    );
  }
  indent(
    `${'total'.padEnd(28)} ${fmt(w.total).padStart(8)} ${fmt(w.perTask, 4).padStart(9)}   over ${fmt(w.seconds, 2)} s`,
  );

  section(
    '4. BullMQ on the local Redis (same process layout: Redis is its own process, producer + worker here)',
  );
  let bull: BullResults | undefined;
  if (process.env.BENCH_SKIP_BULLMQ === '1') {
    indent('skipped: BENCH_SKIP_BULLMQ=1');
  } else {
    const redis = await probeRedis();
    if (!redis) say('skipped: no Redis');
    else {
      indent(`redis ${redis.version} at ${redis.address} (${redis.persistence})`);
      bull = await benchBullMQ(
        { warmup: WARMUP, tasks: TASKS, chunk: CHUNK, concurrency: SLOTS, roundTrips: ROUND_TRIPS },
        redis,
        indent,
      );
    }
  }

  section('5. Summary');
  const tps = skein.throughput.perS;
  const ratio = bull ? tps / bull.throughput.perS : NaN;
  const mem10 = skein.memory.find((m) => m.at >= MEM_AT[0]) ?? skein.memory[0];
  // the last reading is at the second mark
  const mem100 = skein.memory[skein.memory.length - 1];
  const memRatio = mem100.mem.rss / mem10.mem.rss;
  const rt = skein.roundTrip;
  indent(
    `throughput: Skein ${fmt(tps)} tasks/s; BullMQ ${bull ? fmt(bull.throughput.perS) : 'n/a'} jobs/s; ratio ${Number.isFinite(ratio) ? ratio.toFixed(2) : 'n/a'}`,
  );
  indent(
    `other Skein samples: fill rounds ${skein.fill.map((f) => fmt(f.perS)).join(', ')} tasks/s` +
      (skein.sharedClient
        ? `; triggers and worker on one client ${fmt(skein.sharedClient.perS)} tasks/s`
        : ''),
  );
  indent(
    `Skein vs the JetStream ceiling: ${fmt(w.perTask, 2)} writes/task, so at most ${fmt(ceiling.rawPerS / w.perTask)} tasks/s; ` +
      `reached ${fmt((100 * tps * w.perTask) / ceiling.rawPerS)}% of the ceiling's write rate`,
  );
  indent(
    `round trip p50/p99: Skein ${fmt(rt.p50, 2)} / ${fmt(rt.p99, 2)} ms` +
      (bull ? `; BullMQ ${fmt(bull.roundTrip.p50, 2)} / ${fmt(bull.roundTrip.p99, 2)} ms` : ''),
  );
  indent(
    `engine RSS: ${fmt(mb(mem10.mem.rss), 1)} MB after ${fmt(mem10.at)} tasks, ${fmt(mb(mem100.mem.rss), 1)} MB after ${fmt(mem100.at)}; ratio ${memRatio.toFixed(2)}`,
  );
  const verdict = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'met' : 'NOT met');
  indent(`target throughput >= 0.5x BullMQ:        ${verdict(bull ? ratio >= 0.5 : undefined)}`);
  indent(`target round trip p50 <= 3 ms:           ${verdict(rt.p50 <= 3)}`);
  indent(`target round trip p99 <= 15 ms:          ${verdict(rt.p99 <= 15)}`);
  indent(`target RSS after 100k <= 1.5x after 10k: ${verdict(memRatio <= 1.5)}`);
  if (skein.engineWarnings > 0)
    indent(
      `the engine logged ${skein.engineWarnings} warning/error lines (shown above with [engine])`,
    );
  indent(
    `bench took ${fmt((Date.now() - started) / 1000, 1)} s; load average at the end: ${loadAverage()}`,
  );
  say();
  say(
    `bench: tasks_per_s=${Math.round(tps)} bullmq_tasks_per_s=${bull ? Math.round(bull.throughput.perS) : 'NA'} ` +
      `ratio=${Number.isFinite(ratio) ? ratio.toFixed(2) : 'NA'} p50_ms=${rt.p50.toFixed(2)} p99_ms=${rt.p99.toFixed(2)} ` +
      `js_ceiling_per_s=${Math.round(ceiling.rawPerS)} writes_per_task=${w.perTask.toFixed(2)}`,
  );
  say(
    `bench-mem: rss_10k_mb=${mb(mem10.mem.rss).toFixed(1)} rss_100k_mb=${mb(mem100.mem.rss).toFixed(1)} ratio=${memRatio.toFixed(2)}`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
