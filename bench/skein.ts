/**
 * Skein's side of the benchmark. The engine runs in a child process (bench/engine-process.ts)
 * and the client and the worker here, so that the two busiest parties each get a core.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { Skein, type Task } from 'skein';
import { getFreePort } from '../test/support/nats-server.js';
import { cpuBetween, cpuPerTask, sampleCpu } from './cpu.js';
import { deferred, fmt, latencySummary, mb, watched } from './util.js';

export interface EngineMemory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  gc: boolean;
  status?: { cachedRuns?: number };
}

export interface StreamCount {
  name: string;
  /** The name without the namespace: 'journal', 'kv snapshots', 'obj payloads', ... */
  label: string;
  lastSeq: number;
  messages: number;
  bytes: number;
}

export interface WriteDelta {
  name: string;
  writes: number;
  storedDelta: number;
  bytesDelta: number;
}

/** What the engine child reports once started (times in ms from its process start). */
export interface EngineReady {
  id: string;
  partitions: number[];
  /** Until its script's first line: Node, tsx and the imports. */
  bootMs: number;
  /** `startEngine()` itself. */
  startMs: number;
}

/** The engine child: started, asked for its memory, stopped. */
export class EngineChild {
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private readonly replies: ((m: EngineMemory) => void)[] = [];
  private readonly cpuReplies: ((m: { user: number; system: number }) => void)[] = [];
  private readonly profReplies: (() => void)[] = [];
  warnings = 0;
  output = '';

  private constructor(
    child: ChildProcess,
    /** Where it serves GET /status. */
    readonly httpPort: number,
  ) {
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const killOnExit = () => child.kill('SIGKILL');
    process.on('exit', killOnExit);
    void this.exited.then(() => process.removeListener('exit', killOnExit));
    child.stderr?.on('data', (d: Buffer) => {
      const text = d.toString();
      this.output += text;
      for (const line of text.split('\n').filter(Boolean)) {
        this.warnings++;
        process.stderr.write(`[engine] ${line}\n`);
      }
    });
    child.on('message', (m: { type?: string } & EngineMemory) => {
      if (m?.type === 'mem') this.replies.shift()?.(m);
      if (m?.type === 'cpu')
        this.cpuReplies.shift()?.(m as unknown as { user: number; system: number });
      if (m?.type === 'prof-started' || m?.type === 'prof-stopped') this.profReplies.shift()?.();
    });
  }

  static async start(
    natsUrl: string,
    namespace: string,
    engineId?: string,
  ): Promise<{ engine: EngineChild } & EngineReady> {
    const script = fileURLToPath(new URL('./engine-process.ts', import.meta.url));
    const httpPort = await getFreePort();
    const args = [script, natsUrl, namespace, String(httpPort), ...(engineId ? [engineId] : [])];
    // SKEIN_BENCH_CPU_PROF_DIR: the engine writes a V8 CPU profile there when it exits.
    const profDir = process.env.SKEIN_BENCH_CPU_PROF_DIR;
    const profile = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
    const child = spawn(process.execPath, [...profile, '--import', 'tsx', '--expose-gc', ...args], {
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    const engine = new EngineChild(child, httpPort);
    const ready = await new Promise<EngineReady>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`engine not ready after 30 s:\n${engine.output}`)),
        30_000,
      );
      child.on('message', (m: { type?: string } & EngineReady) => {
        if (m?.type === 'ready') {
          clearTimeout(timer);
          resolve(m);
        }
      });
      void engine.exited.then(() =>
        reject(new Error(`engine exited before ready:\n${engine.output}`)),
      );
    });
    return { engine, ...ready };
  }

  get pid() {
    return this.child.pid;
  }

  /** The engine's status document: its partitions and whether it leads. */
  async status(): Promise<{ partitions: number[]; leader: boolean }> {
    const res = await fetch(`http://127.0.0.1:${this.httpPort}/status`);
    return (await res.json()) as { partitions: number[]; leader: boolean };
  }

  /** SIGKILL, as a crash: nothing is released. */
  async kill() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  memory(): Promise<EngineMemory> {
    const reply = deferred<EngineMemory>();
    this.replies.push(reply.resolve);
    this.child.send({ type: 'mem' });
    return watched('engine memory report', reply.promise, () => 0, 15_000, 15_000);
  }

  /** The CPU time the engine process has used, in µs (user + system). */
  cpuMicros(): Promise<number> {
    const reply = deferred<{ user: number; system: number }>();
    this.cpuReplies.push(reply.resolve);
    this.child.send({ type: 'cpu' });
    return watched('engine cpu report', reply.promise, () => 0, 15_000, 15_000).then(
      (u) => u.user + u.system,
    );
  }

  /** Starts the V8 CPU profiler in the engine (sampling every `intervalUs`). */
  profileStart(intervalUs: number): Promise<void> {
    return this.profRequest({ type: 'prof-start', intervalUs });
  }

  /** Stops it and has the engine write the profile (a .cpuprofile JSON) to `path`. */
  profileStop(path: string): Promise<void> {
    return this.profRequest({ type: 'prof-stop', path });
  }

  private profRequest(m: object): Promise<void> {
    const reply = deferred<void>();
    this.profReplies.push(() => reply.resolve());
    this.child.send(m);
    return watched('engine profiler', reply.promise, () => 0, 30_000, 30_000);
  }

  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.child.connected) this.child.send({ type: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Every stream of the namespace, KV buckets and object stores included, with its last sequence and message count. */
export async function streamCounts(
  jsm: JetStreamManager,
  namespace: string,
): Promise<StreamCount[]> {
  const NS = namespace.toUpperCase().replace(/-/g, '_');
  const out: StreamCount[] = [];
  for await (const info of jsm.streams.list()) {
    const name = info.config.name;
    const kinds = [
      ['', `${NS}_`],
      ['kv ', `KV_${NS}_`],
      ['obj ', `OBJ_${NS}_`],
    ] as const;
    const kind = kinds.find(([, prefix]) => name.startsWith(prefix));
    if (!kind) continue;
    out.push({
      name,
      label: kind[0] + name.slice(kind[1].length).toLowerCase(),
      lastSeq: info.state.last_seq,
      messages: info.state.messages,
      bytes: info.state.bytes,
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function deltas(before: StreamCount[], after: StreamCount[]): WriteDelta[] {
  return after.map((a) => {
    const b = before.find((x) => x.name === a.name) ?? { lastSeq: 0, messages: 0, bytes: 0 };
    return {
      name: a.name,
      writes: a.lastSeq - b.lastSeq,
      storedDelta: a.messages - b.messages,
      bytesDelta: a.bytes - b.bytes,
    };
  });
}

export interface BatchResult {
  tasks: number;
  seconds: number;
  perS: number;
  /** When the last chunk's triggers were stored. */
  triggerSeconds: number;
  /** Results in while triggers were still going in, and the rate of the rest afterwards. */
  perSWhileTriggering: number;
  perSDraining: number;
  cpu: string;
  /** CPU µs per task of each process over the phase. */
  cpuPerTask: string;
}

export interface SkeinResults {
  engineId: string;
  warmup: BatchResult;
  throughput: BatchResult;
  /** The same timed phase with the trigger side and the worker on one Skein client (one connection). */
  sharedClient?: BatchResult;
  fill: BatchResult[];
  roundTrip: ReturnType<typeof latencySummary> & { n: number };
  writes: { total: number; perTask: number; seconds: number; streams: WriteDelta[] };
  memory: { at: number; mem: EngineMemory }[];
  engineWarnings: number;
}

export interface SkeinBenchOptions {
  warmup: number;
  tasks: number;
  chunk: number;
  slots: number;
  roundTrips: number;
  memAt: [number, number];
  /** Also time the phase with one client for triggers and the worker. */
  sharedClient: boolean;
  /** CPU profiles of the timed phase (engine, and this process) are written here. */
  profileDir?: string;
}

/** Sampling interval of the timed phase's CPU profiles (BENCH_PROFILE_INTERVAL_US). */
const PROFILE_INTERVAL_US = Number(process.env.BENCH_PROFILE_INTERVAL_US) || 250;
/** BENCH_PROFILE_HEAP=1: sampled allocations too (.heapprofile beside each .cpuprofile). */
const PROFILE_HEAP = process.env.BENCH_PROFILE_HEAP === '1';

/** V8 CPU profilers on in the engine child and in this process (client + worker). */
async function startProfiles(engine: EngineChild) {
  const own = new Session();
  own.connect();
  await own.post('Profiler.enable');
  await own.post('Profiler.setSamplingInterval', { interval: PROFILE_INTERVAL_US });
  await engine.profileStart(PROFILE_INTERVAL_US);
  await own.post('Profiler.start');
  if (PROFILE_HEAP)
    await own.post('HeapProfiler.startSampling', {
      samplingInterval: 16384,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    } as never);
  return {
    async stop(dir: string): Promise<string> {
      const { profile } = await own.post('Profiler.stop');
      const heap = PROFILE_HEAP ? await own.post('HeapProfiler.stopSampling') : undefined;
      own.disconnect();
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const enginePath = join(dir, `engine-${stamp}.cpuprofile`);
      const benchPath = join(dir, `bench-${stamp}.cpuprofile`);
      await engine.profileStop(enginePath);
      writeFileSync(benchPath, JSON.stringify(profile));
      if (heap)
        writeFileSync(
          benchPath.replace(/\.cpuprofile$/, '.heapprofile'),
          JSON.stringify(heap.profile),
        );
      return `  cpu profiles of the timed phase: ${enginePath}, ${benchPath} (npx tsx bench/cpuprofile.ts <file> <tasks>)`;
    },
  };
}

const silentish = () => pino({ level: process.env.SKEIN_BENCH_LOG ?? 'warn' }, pino.destination(2));
const noopFn = () => null;

export async function benchSkein(
  natsUrl: string,
  opts: SkeinBenchOptions,
  log: (line: string) => void,
): Promise<SkeinResults> {
  const namespace = `bench${randomUUID().slice(0, 8)}`;
  const { engine, id: engineId, partitions } = await EngineChild.start(natsUrl, namespace);
  log(
    `engine ${engineId} (pid ${engine.pid}) serves partitions [${partitions.join(',')}] of namespace ${namespace}`,
  );
  // The client that triggers, and the worker on a client of its own, as BullMQ's Queue and
  // Worker each have their own Redis connections. Both live in this process.
  const client = Skein.init({ natsUrl, namespace, logger: silentish() });
  const workerClient = Skein.init({ natsUrl, namespace, logger: silentish() });
  const nc = await connect({ servers: natsUrl, name: 'bench-observer' });
  const jsm = await jetstreamManager(nc);
  try {
    const noop: Task<{ n: number }, null> = client.task({ name: 'bench-noop', fn: noopFn });
    let worker = await workerClient.worker('bench-worker', {
      workflows: [workerClient.task({ name: 'bench-noop', fn: noopFn })],
      slots: opts.slots,
    });
    await worker.start();
    let completedTotal = 0;

    /** Triggers `total` runs in chunks (each chunk's triggers awaited) and waits for every result. */
    const batch = async (label: string, total: number): Promise<BatchResult> => {
      let triggered = 0;
      let completed = 0;
      const results: Promise<unknown>[] = [];
      const cpu0 = sampleCpu();
      const t0 = performance.now();
      const work = (async () => {
        for (let i = 0; i < total; i += opts.chunk) {
          const n = Math.min(opts.chunk, total - i);
          const refs = await noop.runManyNoWait(
            Array.from({ length: n }, (_, j) => ({ input: { n: i + j } })),
          );
          triggered += n;
          for (const ref of refs) {
            results.push(
              ref.result().then((out) => {
                if (out !== null) throw new Error(`unexpected output ${JSON.stringify(out)}`);
                completed++;
              }),
            );
          }
        }
        const triggerSeconds = (performance.now() - t0) / 1000;
        const completedWhenTriggered = completed;
        await Promise.all(results);
        return { triggerSeconds, completedWhenTriggered };
      })();
      const { triggerSeconds, completedWhenTriggered } = await watched(
        `skein ${label}`,
        work,
        () => `${triggered} triggered, ${completed} completed`,
      );
      const seconds = (performance.now() - t0) / 1000;
      const cpu1 = sampleCpu();
      const cpu = cpuBetween(cpu0, cpu1);
      completedTotal += total;
      return {
        tasks: total,
        seconds,
        perS: total / seconds,
        triggerSeconds,
        perSWhileTriggering: completedWhenTriggered / triggerSeconds,
        perSDraining:
          seconds > triggerSeconds
            ? (total - completedWhenTriggered) / (seconds - triggerSeconds)
            : NaN,
        cpu,
        cpuPerTask: cpuPerTask(cpu0, cpu1, total),
      };
    };
    const describe = (label: string, r: BatchResult, detail = false) => {
      log(`${label}: ${fmt(r.tasks)} tasks in ${fmt(r.seconds, 2)} s = ${fmt(r.perS)} tasks/s`);
      if (!detail) return;
      log(
        `  all triggers stored after ${fmt(r.triggerSeconds, 2)} s; results ${fmt(r.perSWhileTriggering)}/s while triggers went in, ` +
          `${fmt(r.perSDraining)}/s after`,
      );
      log(`  cpu (100% = one core): ${r.cpu}`);
      log(`  cpu per task: ${r.cpuPerTask}`);
    };

    const memory: SkeinResults['memory'] = [];
    const snapshotMemory = async () => {
      const mem = await engine.memory();
      memory.push({ at: completedTotal, mem });
      log(
        `engine memory after ${fmt(completedTotal)} tasks: rss ${fmt(mb(mem.rss), 1)} MB, heap used ${fmt(mb(mem.heapUsed), 1)} MB, ` +
          `heap total ${fmt(mb(mem.heapTotal), 1)} MB` +
          `${mem.status?.cachedRuns !== undefined ? `, cached runs ${mem.status.cachedRuns}` : ''}${mem.gc ? '' : ' (no --expose-gc)'}`,
      );
    };
    const fill: BatchResult[] = [];
    /** Up to `mark` completed tasks, in rounds shaped like the timed phase. */
    const fillTo = async (mark: number) => {
      while (completedTotal < mark) {
        const r = await batch('fill', Math.min(opts.tasks, mark - completedTotal));
        fill.push(r);
        describe('fill', r);
        await snapshotMemory();
      }
    };

    // Warm-up, then up to the first memory mark.
    const warmup = await batch('warm-up', opts.warmup);
    describe('warm-up', warmup);
    await fillTo(opts.memAt[0]);
    if (completedTotal !== memory[memory.length - 1]?.at) await snapshotMemory();

    // The timed phase, with the persisted writes counted from the server's own stream states.
    const before = await streamCounts(jsm, namespace);
    const profiling = opts.profileDir ? await startProfiles(engine) : undefined;
    const throughput = await batch('throughput', opts.tasks);
    if (profiling && opts.profileDir) log(await profiling.stop(opts.profileDir));
    const after = await streamCounts(jsm, namespace);
    const streams = deltas(before, after);
    const total = streams.reduce((a, s) => a + s.writes, 0);
    describe('THROUGHPUT', throughput, true);

    // Round trips, one at a time.
    const samples: number[] = [];
    const rt = (async () => {
      for (let i = 0; i < opts.roundTrips; i++) {
        const t = performance.now();
        const out = await noop.run({ n: i });
        samples.push(performance.now() - t);
        if (out !== null) throw new Error(`unexpected output ${JSON.stringify(out)}`);
      }
    })();
    await watched('skein round trips', rt, () => samples.length, 15_000);
    completedTotal += opts.roundTrips;
    const roundTrip = { n: samples.length, ...latencySummary(samples) };
    log(
      `ROUND TRIP: ${roundTrip.n} sequential task.run(): p50 ${fmt(roundTrip.p50, 2)} ms, p90 ${fmt(roundTrip.p90, 2)} ms, ` +
        `p99 ${fmt(roundTrip.p99, 2)} ms, max ${fmt(roundTrip.max, 2)} ms, mean ${fmt(roundTrip.mean, 2)} ms`,
    );

    // Up to the second memory mark.
    await fillTo(opts.memAt[1]);
    if (completedTotal !== memory[memory.length - 1]?.at) await snapshotMemory();

    // For comparison: triggers and the worker on one client, i.e. one connection and one sender queue.
    let sharedClient: BatchResult | undefined;
    if (opts.sharedClient) {
      await worker.stop();
      worker = await client.worker('bench-worker-shared', { workflows: [noop], slots: opts.slots });
      await worker.start();
      await batch('shared-client warm-up', opts.warmup);
      sharedClient = await batch('shared-client throughput', opts.tasks);
      describe('same, one client for triggers and worker', sharedClient, true);
    }

    return {
      engineId,
      warmup,
      throughput,
      sharedClient,
      fill,
      roundTrip,
      writes: { total, perTask: total / opts.tasks, seconds: throughput.seconds, streams },
      memory,
      engineWarnings: engine.warnings,
    };
  } finally {
    await client.close().catch((err: unknown) => log(`client close failed: ${String(err)}`));
    await workerClient
      .close()
      .catch((err: unknown) => log(`worker client close failed: ${String(err)}`));
    await nc.close().catch(() => undefined);
    await engine.stop();
  }
}
