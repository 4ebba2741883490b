/**
 * `npm run bench:retention`: does storage level off when runs are deleted? An engine with a
 * RETENTION_BENCH_RETENTION ['1m'] retention (in this process) under a steady load for
 * RETENTION_BENCH_MINUTES [15] (bench/mixed-load.ts without event waits: tasks that log,
 * concurrency keys, workflows, durable sleeps, large payloads, a cron). Every minute it prints,
 * per stream (journal,
 * logs, inbox, timers, events, each KV bucket and object store of the namespace), messages and
 * bytes. At the end it stops triggering, waits for every run, and passes when every run
 * triggered completed (nothing running was deleted) and, per stream, the last third of the
 * minutes stays within 25% (plus a slack) of the middle third's highest count: a plateau.
 */
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { Skein } from 'skein';
import { MixedLoad } from './mixed-load.js';
import { startEngine } from 'skein/runtime';
import { startNatsServer } from '../test/support/nats-server.js';
import { toMs } from '../runtime/duration.js';
import { streamCounts, type StreamCount } from './skein.js';
import { envInt, fmt, say, sleep } from './util.js';

const MINUTES = envInt('RETENTION_BENCH_MINUTES', 15);
const RETENTION = process.env.RETENTION_BENCH_RETENTION ?? '1m';
const DRAIN_S = envInt('RETENTION_BENCH_DRAIN_SECONDS', 120);
const NAMESPACE = 'keep';

type Sizes = Pick<StreamCount, 'messages' | 'bytes'>;

/** Each stream of the namespace by its short name. */
async function sizes(jsm: JetStreamManager): Promise<Map<string, Sizes>> {
  return new Map((await streamCounts(jsm, NAMESPACE)).map((s) => [s.label, s]));
}

async function main() {
  const retentionMs = toMs(RETENTION, 'RETENTION_BENCH_RETENTION');
  const nats = await startNatsServer();
  const nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  const logger = pino({ level: 'warn' });
  const engine = await startEngine({
    natsUrl: nats.url,
    namespace: NAMESPACE,
    logger,
    retention: RETENTION,
  });
  const skein = Skein.init({ natsUrl: nats.url, namespace: NAMESPACE, logger });

  // Events keep their own retention (days), so the load here waits for none: the events
  // stream would grow by design. \`npm run soak\` with SKEIN_RETENTION has them.
  const load = new MixedLoad(skein, { prefix: 'keep', eventWaits: false, largePayloads: true });
  const worker = await skein.worker('keep', { workflows: load.workflows, slots: 100 });
  await worker.start();

  say(`retention bench: ${MINUTES} min, retention ${RETENTION}, nats ${nats.url}`);
  const t0 = Date.now();
  const history: Map<string, Sizes>[] = [];
  const report = async () => {
    const now = await sizes(jsm);
    history.push(now);
    const cols = [...now.entries()]
      .map(([name, s]) => `${name} ${s.messages}/${fmt(s.bytes / 1024)}KB`)
      .join(', ');
    say(
      `[${fmt((Date.now() - t0) / 60_000, 1)} min] triggered ${load.triggered}, completed ${load.completed}, pending ${load.pending.size}, failed ${load.failed}, cron ticks ${load.cronTicks}; ${cols}`,
    );
  };

  let second = 0;
  let nextReport = t0 + 60_000;
  const endAt = t0 + MINUTES * 60_000;
  while (Date.now() < endAt) {
    second++;
    const tick = sleep(1000);
    load.second(second);
    if (Date.now() >= nextReport) {
      nextReport += 60_000;
      await report().catch((err: unknown) => say(`report failed: ${String(err)}`));
    }
    await tick;
  }

  await load.drain(DRAIN_S);
  await report().catch((err: unknown) => say(`report failed: ${String(err)}`));

  // A plateau: the last third of the minutes stays near the middle third's highest count.
  const third = Math.floor(history.length / 3);
  const grew: string[] = [];
  for (const name of history.at(-1)?.keys() ?? []) {
    const peak = (rows: Map<string, Sizes>[]) =>
      Math.max(0, ...rows.map((r) => r.get(name)?.messages ?? 0));
    const middle = peak(history.slice(third, 2 * third));
    const last = peak(history.slice(2 * third));
    if (last > middle * 1.25 + 50) grew.push(`${name} ${middle} -> ${last}`);
  }
  const ok =
    third > 0 &&
    load.pending.size === 0 &&
    load.failed === 0 &&
    load.overLimit === 0 &&
    load.triggerErrors.length === 0 &&
    grew.length === 0;
  say(
    `retention bench ${ok ? 'PASSED' : 'FAILED'}: ${MINUTES} min at retention ${RETENTION} (${fmt(retentionMs / 1000)} s); ` +
      `runs triggered ${load.triggered}, completed ${load.completed}, failed ${load.failed}, still pending ${load.pending.size}; ` +
      `concurrency overruns ${load.overLimit}; cron ticks ${load.cronTicks}; trigger errors ${load.triggerErrors.length}; ` +
      `streams still growing: ${grew.length ? grew.join(', ') : 'none'}`,
  );
  for (const e of load.triggerErrors.slice(0, 10)) say(`trigger error: ${e}`);
  await worker.stop();
  await skein.close();
  await engine.stop();
  await nc.close();
  await nats.stop();
  process.exit(ok ? 0 : 1);
}

await main();
