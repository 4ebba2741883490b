/**
 * Kill -9 in the middle of a load, then recover: every run whose trigger was acknowledged
 * completes, exactly once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RunRef, Skein } from 'skein';
import { startChild, type ChildHandle } from './support/child.js';
import { expectHeld, FaultLedger } from './support/fault-ledger.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv | undefined;
let engineChild: ChildHandle | undefined;
afterEach(async () => {
  await engineChild?.kill();
  await env?.stop();
  env = engineChild = undefined;
});

async function expectEachCompletedOnce(
  refs: RunRef<number>[],
  skein: { runs: { history(id: string): Promise<{ type: string }[]> } },
) {
  const outputs = await Promise.all(refs.map((r) => r.result()));
  expect(outputs).toEqual(refs.map((_, i) => i));
  for (const ref of refs) {
    const types = (await skein.runs.history(ref.runId)).map((e) => e.type);
    expect(types.filter((t) => t === 'RunTriggered')).toHaveLength(1);
    expect(types.filter((t) => t === 'RunCompleted')).toHaveLength(1);
  }
}

/** A worker with 20 slots and 300 acknowledged runs of a 50 ms task: most still to do. */
async function startLoad(skein: Skein, ledger = new FaultLedger()): Promise<RunRef<number>[]> {
  const task = skein.task({
    name: 'slowish',
    fn: async (n: number, ctx) => (
      ledger.executed(ctx.runId),
      await new Promise((r) => setTimeout(r, 50)),
      n
    ),
  });
  await (await skein.worker('w', { workflows: [task], slots: 20 })).start();
  const refs: RunRef<number>[] = [];
  for (let i = 0; i < 300; i++) refs.push(await task.runNoWait(i));
  ledger.trigger(...refs);
  return refs;
}

describe('crash recovery', () => {
  it('nats-server killed mid-load and restarted on its store', async () => {
    env = await startSkeinEnv();
    const { skein } = await env.client();
    const ledger = new FaultLedger();
    const refs = await startLoad(skein, ledger);
    await env.nats.kill('SIGKILL');
    await env.nats.restart();
    const restartedAt = Date.now();
    await expectEachCompletedOnce(refs, skein);
    const doneMs = Date.now() - restartedAt;
    // No process was lost, so each body ran once: a task run the old server had dispatched is
    // not dispatched again after the restart.
    expectHeld(
      'nats-server killed',
      await ledger.settle(1),
      `all done ${doneMs} ms after the restart`,
    );
  }, 90_000);

  it('engine killed mid-load and started again', async () => {
    env = await startSkeinEnv();
    // The client's own engine stops at once: only the child engine serves the namespace.
    const { skein, engine, namespace, startEngine } = await env.client();
    await engine.stop();
    engineChild = await startChild('engine-process.ts', [env.url, namespace]);
    const refs = await startLoad(skein);
    await engineChild.kill('SIGKILL');
    await startEngine();
    await expectEachCompletedOnce(refs, skein);
  }, 90_000);
});
