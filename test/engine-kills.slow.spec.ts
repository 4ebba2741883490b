/**
 * Two, then three engines (child processes) share a namespace under a steady load of tasks and
 * durable sleeps; each is SIGKILLed in turn and a fresh one (a new id) started. Counted: no
 * run lost, a body at most once per attempt plus once per engine killed, no recorded memo run
 * again; and after each kill, how long until runs triggered at the kill (spread over every
 * partition) all had their results.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Skein, type RunRef } from 'skein';
import { startChild, type ChildHandle } from './support/child.js';
import { expectHeld, FaultLedger, ledgerTasks, pauseOf } from './support/fault-ledger.js';
import { startNatsServer, type NatsServerHandle } from './support/nats-server.js';
import { testLogger } from './support/skein-env.js';

/** Loose for a busy 2-core CI box; bench/failover.ts measures the quiet-machine figure. */
const PAUSE_BOUND_MS = 15_000;

let nats: NatsServerHandle | undefined;
let skein: Skein | undefined;
const engines: ChildHandle[] = [];
afterEach(async () => {
  await skein?.close();
  await Promise.all(engines.splice(0).map((e) => e.kill()));
  await nats?.stop();
  nats = skein = undefined;
});

describe.each([2, 3])('%i engines, each SIGKILLed in turn under load', (count) => {
  it('loses nothing and repeats no recorded call; work pauses for seconds', async () => {
    nats = await startNatsServer();
    const namespace = `t${randomUUID().slice(0, 8)}`;
    for (let i = 0; i < count; i++)
      engines.push(await startChild('engine-process.ts', [nats.url, namespace, `e${i}`]));
    skein = Skein.init({ natsUrl: nats.url, namespace, logger: testLogger });
    const ledger = new FaultLedger();
    const { work, sleeper } = ledgerTasks(skein, ledger, 2_000);
    const probe = skein.task({ name: 'probe', fn: (n: number) => n });
    await (await skein.worker('w', { workflows: [work, sleeper, probe], slots: 20 })).start();

    // A steady load: 20 tasks and 2 durable sleeps every 250 ms until the last kill is over.
    let loading = true;
    const triggers: Promise<unknown>[] = [];
    const load = (async () => {
      for (let i = 0; loading; i++) {
        const batch = Promise.all([
          work.runManyNoWait(Array.from({ length: 20 }, (_, j) => ({ input: i * 20 + j }))),
          sleeper.runManyNoWait([{ input: i }, { input: -i }]),
        ]).then(([a, b]) => ledger.trigger(...(a as RunRef<unknown>[]), ...b));
        triggers.push(batch);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();

    const pauses: number[] = [];
    for (let i = 0; i < count; i++) {
      const before = ledger.runIds.length;
      await vi.waitFor(() => expect(ledger.runIds.length).toBeGreaterThan(before + 40), {
        timeout: 30_000,
      });
      await engines[i]!.kill('SIGKILL');
      const fresh = startChild('engine-process.ts', [nats.url, namespace, `fresh${i}`]);
      pauses.push(
        await pauseOf(() =>
          probe.runManyNoWait(Array.from({ length: 32 }, (_, j) => ({ input: j }))),
        ),
      );
      engines.push(await fresh);
    }
    loading = false;
    await load;
    await Promise.all(triggers);

    const counts = await ledger.settle(1 + count);
    expectHeld(`${count} engines killed in turn`, counts, `pauses ${pauses.join(', ')} ms`);
    for (const p of pauses) expect(p).toBeLessThanOrEqual(PAUSE_BOUND_MS);
    for (const runId of ledger.runIds.slice(0, 40)) {
      const types = (await skein.runs.history(runId)).map((e) => e.type);
      expect(types.filter((t) => t === 'RunTriggered')).toHaveLength(1);
      expect(types.filter((t) => t === 'RunCompleted')).toHaveLength(1);
    }
  }, 180_000);
});
