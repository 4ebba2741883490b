/**
 * The benchmark's engine, in its own process so it does not share a core with the client and
 * the worker: `node --import tsx --expose-gc bench/engine-process.ts <natsUrl> <namespace> [httpPort] [engineId]`.
 *
 * Talks to the bench over the IPC channel:
 *   -> { type: 'ready', id, bootMs, startMs }       once startEngine resolved; bootMs: process start
 *                                                   to this script's first line (Node, tsx, imports)
 *   <- { type: 'mem' }  -> { type: 'mem', ... }     RSS and heap after a full GC
 *   <- { type: 'cpu' }  -> { type: 'cpu', user, system }   process.cpuUsage() (µs)
 *   <- { type: 'stop' } -> exits 0 after engine.stop()
 *   <- { type: 'prof-start', intervalUs } -> { type: 'prof-started' }   V8 CPU profiler on
 *   <- { type: 'prof-stop', path } -> { type: 'prof-stopped', path }    profile written to path
 *                                     (and the sampled allocations to path's .heapprofile)
 * Logs (pino, level SKEIN_BENCH_LOG, default 'warn') go to stderr, which the bench mirrors.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { pino } from 'pino';
import { startEngine } from 'skein/runtime';

const bootMs = performance.now();
const [natsUrl, namespace, httpPortArg, engineId] = process.argv.slice(2);
if (!natsUrl || !namespace || !process.send) {
  process.stderr.write(
    'usage: node --import tsx --expose-gc bench/engine-process.ts <natsUrl> <namespace> [httpPort] [engineId] (with an IPC channel)\n',
  );
  process.exit(2);
}
const httpPort = httpPortArg ? Number(httpPortArg) : undefined;
const logger = pino({ level: process.env.SKEIN_BENCH_LOG ?? 'warn' }, pino.destination(2));
const engine = await startEngine({
  natsUrl,
  namespace,
  id: engineId,
  logger,
  // SKEIN_BENCH_RUN_INDEX=0: without the run index, for the comparison in bench/README.md.
  ...(process.env.SKEIN_BENCH_RUN_INDEX === '0' && { runIndex: { enabled: false } }),
  // SKEIN_BENCH_METRICS=0: without metrics, for their cost (bench/metrics-cost.ts).
  ...(process.env.SKEIN_BENCH_METRICS === '0' && { metrics: false }),
  http: httpPort ? { port: httpPort } : undefined,
});

const send = (m: unknown) => process.send?.(m);

/** The engine's own status document (cached runs), when it serves HTTP. */
async function status(): Promise<unknown> {
  if (!httpPort) return undefined;
  try {
    const res = await fetch(`http://127.0.0.1:${httpPort}/status`);
    return await res.json();
  } catch {
    return undefined;
  }
}

const gc = (globalThis as { gc?: () => void }).gc;

// A CPU profile of one phase only (BENCH_PROFILE_DIR in bench/skein.ts), unlike --cpu-prof,
// which covers the whole process from its boot.
let profiler: Session | undefined;
async function profileStart(intervalUs: number) {
  profiler = new Session();
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.setSamplingInterval', { interval: intervalUs });
  await profiler.post('Profiler.start');
  // BENCH_PROFILE_HEAP=1: allocations too, those already collected included: what the garbage
  // collector is given (sampling costs CPU of its own, so not by default).
  if (process.env.BENCH_PROFILE_HEAP === '1')
    await profiler.post('HeapProfiler.startSampling', {
      samplingInterval: 16384,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    } as never);
}
async function profileStop(path: string) {
  if (!profiler) return;
  const { profile } = await profiler.post('Profiler.stop');
  writeFileSync(path, JSON.stringify(profile));
  if (process.env.BENCH_PROFILE_HEAP === '1') {
    const heap = await profiler.post('HeapProfiler.stopSampling');
    writeFileSync(path.replace(/\.cpuprofile$/, '.heapprofile'), JSON.stringify(heap.profile));
  }
  profiler.disconnect();
  profiler = undefined;
}

process.on('message', (m: { type?: string }) => {
  if (m?.type === 'mem') {
    void (async () => {
      // Several passes: the first ones free what finalizers and weak refs were holding.
      for (let i = 0; i < 3; i++) {
        gc?.();
        await new Promise((r) => setImmediate(r));
      }
      const u = process.memoryUsage();
      send({
        type: 'mem',
        gc: gc !== undefined,
        rss: u.rss,
        heapUsed: u.heapUsed,
        heapTotal: u.heapTotal,
        external: u.external,
        arrayBuffers: u.arrayBuffers,
        status: await status(),
      });
    })();
  } else if (m?.type === 'cpu') {
    send({ type: 'cpu', ...process.cpuUsage() });
  } else if (m?.type === 'prof-start') {
    const { intervalUs } = m as { intervalUs?: number };
    void profileStart(intervalUs ?? 1000).then(() => send({ type: 'prof-started' }));
  } else if (m?.type === 'prof-stop') {
    const { path } = m as { path: string };
    void profileStop(path).then(() => send({ type: 'prof-stopped', path }));
  } else if (m?.type === 'stop') {
    void engine
      .stop()
      .catch((err: unknown) => process.stderr.write(`engine stop failed: ${String(err)}\n`))
      .finally(() => process.exit(0));
  }
});
// The bench died: do not linger.
process.on('disconnect', () => {
  void engine.stop().finally(() => process.exit(0));
  setTimeout(() => process.exit(1), 5000).unref();
});

send({
  type: 'ready',
  id: engine.id,
  partitions: engine.partitions(),
  leader: engine.isLeader(),
  bootMs,
  startMs: performance.now() - bootMs,
});
