/** Workflows across an engine crash, and at width: nothing re-runs, nothing is lost. */
import { afterEach, describe, expect, it } from 'vitest';
import { startChild, type ChildHandle } from './support/child.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv | undefined;
let engineChild: ChildHandle | undefined;
afterEach(async () => {
  await engineChild?.kill();
  await env?.stop();
  env = engineChild = undefined;
});

describe('workflow recovery', () => {
  it('resumes after the engine is killed between two tasks, running neither twice', async () => {
    env = await startSkeinEnv();
    const { skein, engine, namespace, startEngine } = await env.client();
    await engine.stop();
    engineChild = await startChild('engine-process.ts', [env.url, namespace]);
    const runs = { first: 0, second: 0 };
    let firstDone!: () => void;
    const firstFinished = new Promise<void>((resolve) => (firstDone = resolve));
    const wf = skein.workflow({ name: 'two-step' });
    const first = wf.task({
      name: 'first',
      fn: () => {
        runs.first++;
        firstDone();
        return 'one';
      },
    });
    wf.task({
      name: 'second',
      parents: [first],
      fn: (_in, ctx) => (runs.second++, `${ctx.parentOutput(first)}+two`),
    });
    const worker = await skein.worker('w', { workflows: [wf] });
    const ref = await wf.runNoWait({});
    await worker.start();
    await firstFinished;
    await engineChild.kill('SIGKILL');
    await startEngine();
    expect(await ref.result()).toEqual({ first: 'one', second: 'one+two' });
    expect(runs).toEqual({ first: 1, second: 1 });
  }, 60_000);

  it('completes a 1,000-task fan-out / fan-in', async () => {
    env = await startSkeinEnv();
    const { skein } = await env.client();
    const wf = skein.workflow({ name: 'wide' });
    const start = wf.task({ name: 'start', fn: () => 1 });
    const branches = Array.from({ length: 1000 }, (_, i) =>
      wf.task({ name: `b${i}`, parents: [start], fn: (_in, ctx) => ctx.parentOutput(start) + i }),
    );
    wf.task({
      name: 'join',
      parents: branches,
      fn: (_in, ctx) => branches.reduce((s, b) => s + ctx.parentOutput(b), 0),
    });
    await (await skein.worker('w', { workflows: [wf], slots: 100 })).start();
    const started = Date.now();
    const out = await wf.run({});
    expect(out.join).toBe(1000 + (999 * 1000) / 2);
    console.log(`1,000-task fan-out/fan-in took ${Date.now() - started} ms`);
  }, 120_000);
});
