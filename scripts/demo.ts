/**
 * `npm run demo` / `npx skein demo`: an engine and a worker in this process, the hello and
 * retry examples run against them, then the retry run's history and logs, then the seed's
 * durable task (a durable sleep, then an approval event) and its history.
 *
 * NATS: SKEIN_NATS_URL, else 127.0.0.1:4222 if it answers, else a child nats-server
 * (SKEIN_DEMO_START_NATS=1 forces the child). Each run uses a fresh namespace and removes
 * it at the end (SKEIN_DEMO_KEEP=1 keeps it for a look with the SDK).
 */
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { Skein, ValidationError, type RunEventRecord, type RunLogLine } from 'skein';
import { startEngine, type Engine } from 'skein/runtime';
import { helloExample } from '../examples/hello.js';
import { retryExample } from '../examples/retry.js';
import { durableExamples } from '../examples/durable.js';
import { resolveNatsOptions, toConnectionOptions } from '../runtime/nats-options.js';
import { historyLines } from './cli/history-text.js';
import { findDemoNats, NatsServerNotFound, type DemoNats } from './nats.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const show = (value: unknown) => inspect(value, { depth: 4, breakLength: 100, colors: false });
const seconds = (ms: number) =>
  ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;

/** Runs the demo; resolves to the process exit code. */
export async function runDemo(): Promise<number> {
  const t0 = performance.now();
  const since = () => seconds(performance.now() - t0);
  // Quiet: only warnings and errors from the engine and worker.
  const logger = pino({ level: process.env.SKEIN_LOG_LEVEL ?? 'warn' });
  const namespace = `demo-${randomBytes(3).toString('hex')}`;

  let nats: DemoNats | undefined;
  let engine: Engine | undefined;
  let skein: Skein | undefined;
  const stopAll = async () => {
    await skein
      ?.close()
      .catch((err: unknown) => console.error('demo: closing the client failed:', err));
    await engine
      ?.stop()
      .catch((err: unknown) => console.error('demo: stopping the engine failed:', err));
    if (nats && process.env.SKEIN_DEMO_KEEP !== '1')
      await removeNamespace(nats.url, namespace).catch(() => {});
    await nats?.stop();
  };
  // Ctrl-C mid-demo: still stop the child nats-server.
  const onSignal = () => void stopAll().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    try {
      nats = await findDemoNats(repoRoot);
    } catch (err) {
      if (err instanceof NatsServerNotFound) {
        console.error(err.message);
        return 1;
      }
      throw err;
    }
    console.log('Skein demo');
    console.log(`  NATS       ${nats.url}  (${nats.description})`);
    console.log(`  namespace  ${namespace}`);
    console.log();

    engine = await startEngine({ natsUrl: nats.url, namespace, logger });
    console.log(`engine ${engine.id} started   (${since()})`);

    skein = Skein.init({ natsUrl: nats.url, namespace, logger });
    const { greet } = helloExample(skein);
    const { flaky } = retryExample(skein);
    const { approval } = durableExamples(skein, { sleep: '1s' });
    const worker = await skein.worker('demo-worker', { workflows: [greet, flaky, approval] });
    await worker.start();
    console.log(
      `worker ${worker.id} started, serving greet, flaky and my-durable-task   (${since()})`,
    );
    console.log();

    // --- hello -----------------------------------------------------------------------------
    let t = performance.now();
    const greeting = await greet.run({ name: 'World' });
    console.log(`greet.run({ name: 'World' })`);
    console.log(`  -> ${show(greeting)}   (${seconds(performance.now() - t)})`);
    try {
      await greet.run({ name: '' });
      console.log(`greet.run({ name: '' }) unexpectedly succeeded`);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      console.log(`greet.run({ name: '' })`);
      console.log(`  -> rejected before any run was stored: ${err.name}: ${err.message}`);
    }
    console.log();

    // --- retry -----------------------------------------------------------------------------
    t = performance.now();
    const ref = await flaky.runNoWait({});
    const result = await ref.result();
    console.log(`flaky.run({})   retries: 3, backoff: { factor: 1.5, maxSeconds: 1 }`);
    console.log(`  -> ${show(result)}   (${seconds(performance.now() - t)}, run ${ref.runId})`);
    console.log();

    const history = await skein.runs.history(ref.runId);
    console.log(`history of run ${ref.runId}  (skein.runs.history)`);
    printHistory(history);
    console.log();

    const logs = await skein.runs.logs(ref.runId);
    console.log(`logs of run ${ref.runId}  (skein.runs.logs)`);
    printLogs(logs, history[0]?.at.getTime() ?? 0);
    console.log();

    // --- durable task ------------------------------------------------------------------------
    t = performance.now();
    const durable = await approval.runNoWait({});
    console.log(`my-durable-task: sleeps 1 s durably, then waits for a 'user:approved' event`);
    let waits = 0;
    while (waits < 2) {
      await new Promise((r) => setTimeout(r, 50));
      const h = await skein.runs.history(durable.runId);
      waits = h.filter((e) => e.type === 'DurableWaitStarted').length;
    }
    await skein.events.push('user:approved', { user_id: 'ann' });
    console.log(`  pushed user:approved { user_id: 'ann' }   (${seconds(performance.now() - t)})`);
    const approved = await durable.result();
    console.log(
      `  -> ${show(approved)}   (${seconds(performance.now() - t)}, run ${durable.runId})`,
    );
    console.log();
    const durableHistory = await skein.runs.history(durable.runId);
    console.log(`history of run ${durable.runId}`);
    printHistory(durableHistory);
    console.log();
  } catch (err) {
    console.error('demo failed:', err instanceof Error ? err.message : err);
    await stopAll();
    return 1;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }

  await stopAll();
  const kept =
    process.env.SKEIN_DEMO_KEEP === '1'
      ? `namespace ${namespace} kept`
      : `namespace ${namespace} removed`;
  console.log(
    `stopped worker, engine${nats.description.startsWith('started') ? ' and nats-server' : ''}; ${kept}`,
  );
  console.log(`done in ${since()}`);
  return 0;
}

function printHistory(history: RunEventRecord[]) {
  for (const line of historyLines(history)) console.log(line);
}

function printLogs(logs: RunLogLine[], start: number) {
  if (logs.length === 0) console.log('  (none)');
  for (const l of logs) {
    const offset = `+${l.at.getTime() - start}`;
    console.log(`  ${offset.padStart(6)}  ${l.level.padEnd(5)}  ${l.taskName}  ${l.message}`);
  }
}

/** Deletes the streams and KV buckets of a namespace (the demo's own, never anything else). */
async function removeNamespace(url: string, namespace: string) {
  const NS = namespace.toUpperCase().replace(/-/g, '_');
  const prefixes = [`${NS}_`, `KV_${NS}_`, `OBJ_${NS}_`];
  const nc = await connect({
    ...toConnectionOptions(resolveNatsOptions(undefined)), // SKEIN_NATS_* like the engine's
    servers: url,
    name: 'skein-demo-cleanup',
    reconnect: false,
  });
  try {
    const jsm = await jetstreamManager(nc);
    const doomed: string[] = [];
    for await (const name of jsm.streams.names())
      if (prefixes.some((p) => name.startsWith(p))) doomed.push(name);
    for (const name of doomed) await jsm.streams.delete(name);
  } finally {
    await nc.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await runDemo();
}
