/**
 * `npm run soak` (not in CI): mixed load for SOAK_MINUTES [60] on two engines in child
 * processes, engine A SIGKILLed and started again (same id) every SOAK_KILL_EVERY_MINUTES [10];
 * engine B lives throughout, so its RSS shows whether memory stays flat across takeovers.
 * The load (bench/mixed-load.ts), started each second from this process (client and worker
 * here): tasks, concurrency keys, workflows, durable sleeps and event waits, large payloads, a
 * cron. Every minute: runs triggered / completed / pending, both engines' RSS (after a
 * full GC) and the namespace's stream sizes. At the end it stops triggering, waits up to
 * SOAK_DRAIN_SECONDS [180] for the rest and prints one summary line; exit code 1 when a run was
 * lost or stuck, a memo repeated, a concurrency key overran, or a body ran more than allowed.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { Skein } from 'skein';
import { MixedLoad } from './mixed-load.js';
import { startNatsServer } from '../test/support/nats-server.js';
import { EngineChild, streamCounts } from './skein.js';
import { envInt, fmt, mb, say, sleep } from './util.js';

const MINUTES = envInt('SOAK_MINUTES', 60);
const KILL_EVERY_MIN = envInt('SOAK_KILL_EVERY_MINUTES', 10);
const DRAIN_S = envInt('SOAK_DRAIN_SECONDS', 180);
const NAMESPACE = 'soak';

async function main() {
  const nats = await startNatsServer();
  const nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  let a = (await EngineChild.start(nats.url, NAMESPACE, 'soak-a')).engine;
  const b = (await EngineChild.start(nats.url, NAMESPACE, 'soak-b')).engine;
  const skein = Skein.init({
    natsUrl: nats.url,
    namespace: NAMESPACE,
    logger: pino({ level: 'warn' }),
  });

  const load = new MixedLoad(skein, { prefix: 'soak', eventWaits: true, largePayloads: true });
  const worker = await skein.worker('soak', { workflows: load.workflows, slots: 100 });
  await worker.start();

  const t0 = Date.now();
  const endAt = t0 + MINUTES * 60_000;
  let kills = 0;
  let nextKill = t0 + KILL_EVERY_MIN * 60_000;
  let nextReport = t0 + 60_000;
  const rssB: number[] = [];
  let second = 0;
  say(
    `soak: ${MINUTES} min, engine A SIGKILLed and restarted every ${KILL_EVERY_MIN} min, nats ${nats.url}`,
  );

  const report = async () => {
    const [ma, mbm] = await Promise.all([a.memory().catch(() => undefined), b.memory()]);
    rssB.push(mbm.rss);
    const streams = await streamCounts(jsm, NAMESPACE);
    const sizes = streams
      .map((s) => `${s.label} ${s.messages}/${fmt(mb(s.bytes), 1)}MB`)
      .join(', ');
    say(
      `[${fmt((Date.now() - t0) / 60_000, 1)} min] triggered ${load.triggered}, completed ${load.completed}, ` +
        `pending ${load.pending.size}, failed ${load.failed}; RSS A ${ma ? fmt(mb(ma.rss), 1) : '-'} MB, ` +
        `B ${fmt(mb(mbm.rss), 1)} MB; streams ${sizes}; cron ticks ${load.cronTicks}`,
    );
  };

  while (Date.now() < endAt) {
    second++;
    const tick = sleep(1000);
    load.second(second);
    if (Date.now() >= nextKill) {
      nextKill += KILL_EVERY_MIN * 60_000;
      kills++;
      await a.kill();
      say(
        `[${fmt((Date.now() - t0) / 60_000, 1)} min] engine A SIGKILLed (kill ${kills}); starting it again`,
      );
      a = (await EngineChild.start(nats.url, NAMESPACE, 'soak-a')).engine;
    }
    if (Date.now() >= nextReport) {
      nextReport += 60_000;
      await report().catch((err: unknown) => say(`report failed: ${String(err)}`));
    }
    await tick;
  }

  await load.drain(DRAIN_S);
  await report();
  const stuck = [...load.pending.values()];
  await load.reportStuck(t0);
  // A task body at most once per attempt plus once per engine kill (a dispatch repeated by a
  // new leader); there are no retries here, so anything past 1 + kills is a bug.
  const overAllowed = [...load.executions.values()].filter((n) => n > 1 + kills).length;
  const repeatedBodies = [...load.executions.values()].filter((n) => n > 1).length;
  const memoRepeats = [...load.charges.values()].filter((n) => n > 1).length;
  const expectedTicks = Math.floor((Date.now() - t0) / 60_000);
  const bMin = Math.min(...rssB);
  const bMax = Math.max(...rssB);
  const ok =
    stuck.length === 0 &&
    load.failed === 0 &&
    overAllowed === 0 &&
    memoRepeats === 0 &&
    load.overLimit === 0 &&
    load.triggerErrors.length === 0;
  say(
    `soak ${ok ? 'PASSED' : 'FAILED'}: ${MINUTES} min, ${kills} engine kills; runs triggered ${load.triggered}, ` +
      `completed ${load.completed}, failed ${load.failed}, lost or stuck ${stuck.length}; bodies run twice ${repeatedBodies} ` +
      `(over allowed ${overAllowed}); memo repeats ${memoRepeats}; concurrency overruns ${load.overLimit}; ` +
      `cron ticks ${load.cronTicks} (~${expectedTicks} due); trigger errors ${load.triggerErrors.length}; ` +
      `engine B RSS ${fmt(mb(rssB[0] ?? 0), 1)} -> ${fmt(mb(rssB.at(-1) ?? 0), 1)} MB (min ${fmt(mb(bMin), 1)}, max ${fmt(mb(bMax), 1)})`,
  );
  for (const e of load.triggerErrors.slice(0, 10)) say(`trigger error: ${e}`);
  await skein.close();
  await Promise.allSettled([a.stop(), b.stop()]);
  await nc.close();
  await nats.stop();
  process.exit(ok ? 0 : 1);
}

await main();
