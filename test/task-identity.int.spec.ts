/**
 * A task is its workflow's task: workers serve, the scheduler places and the worker runs a task
 * by its workflow's name and its own, never by the bare task name. Names are unique per
 * namespace: a worker refuses two declarations of one name, and the engine shows a name two
 * running workers register with different shapes.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { encode } from '../runtime/codec.js';
import { names } from '../runtime/protocol.js';
import { NonRetryableError, RunFailedError, ValidationError } from 'skein';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

interface Step {
  from: string;
  worker: string;
}

describe('tasks of the same name in two workflows', () => {
  it('one worker serving both runs each workflow’s own function', async () => {
    const { skein } = await env.client();
    const a = skein.workflow({ name: 'A' });
    a.task({ name: 'step', fn: (_i, ctx): Step => ({ from: 'A', worker: ctx.workerId }) });
    const b = skein.workflow({ name: 'B' });
    b.task({ name: 'step', fn: (_i, ctx): Step => ({ from: 'B', worker: ctx.workerId }) });
    await (await skein.worker('both', { workflows: [a, b] })).start();

    const [outA, outB] = await Promise.all([a.run({}), b.run({})]);
    expect((outA.step as Step).from).toBe('A');
    expect((outB.step as Step).from).toBe('B');
  });

  it('with each workflow on its own worker, every run of A goes to A’s worker', async () => {
    const { skein } = await env.client();
    const a = skein.workflow({ name: 'A' });
    a.task({ name: 'step', fn: (_i, ctx): Step => ({ from: 'A', worker: ctx.workerId }) });
    const b = skein.workflow({ name: 'B' });
    b.task({ name: 'step', fn: (_i, ctx): Step => ({ from: 'B', worker: ctx.workerId }) });
    const wa = await skein.worker('wa', { workflows: [a] });
    const wb = await skein.worker('wb', { workflows: [b] });
    await wa.start();
    await wb.start();

    const items = Array.from({ length: 10 }, () => a.createBulkRunItem({}));
    const outs = (await a.runMany(items)) as { step: Step }[];
    expect(outs.map((o) => o.step.from).join('')).toBe('AAAAAAAAAA');
    expect(new Set(outs.map((o) => o.step.worker))).toEqual(new Set([wa.id]));
    const outsB = (await b.runMany(items)) as { step: Step }[];
    expect(outsB.map((o) => o.step.from).join('')).toBe('BBBBBBBBBB');
    expect(new Set(outsB.map((o) => o.step.worker))).toEqual(new Set([wb.id]));
  });

  it('a standalone task and a workflow’s task of the same name run apart', async () => {
    const { skein } = await env.client();
    const standalone = skein.task({
      name: 'step',
      fn: (_i, ctx): Step => ({ from: 'task', worker: ctx.workerId }),
    });
    const wf = skein.workflow({ name: 'wf' });
    wf.task({ name: 'step', fn: (_i, ctx): Step => ({ from: 'wf', worker: ctx.workerId }) });
    const wt = await skein.worker('wt', { workflows: [standalone] });
    const ww = await skein.worker('ww', { workflows: [wf] });
    await wt.start();
    await ww.start();

    for (let i = 0; i < 4; i++) {
      const [t, w] = await Promise.all([standalone.run({}), wf.run({})]);
      expect(t).toEqual({ from: 'task', worker: wt.id });
      expect(w.step).toEqual({ from: 'wf', worker: ww.id });
    }
    await ww.stop();
    // Served by one worker, each still runs its own function.
    const both = await skein.worker('both', { workflows: [standalone, wf] });
    await both.start();
    await wt.stop();
    expect(await standalone.run({})).toEqual({ from: 'task', worker: both.id });
    expect((await wf.run({})).step).toEqual({ from: 'wf', worker: both.id });
  });
});

describe('a tree of workflows whose tasks share one name (Hatchet’s deep example)', () => {
  it('starts each child once: 1 + 2 + 4 runs, not a runaway', async () => {
    const { skein } = await env.client();
    const ran: string[] = [];
    const levels = [1, 2, 3].map((level) =>
      skein.workflow<{ path: string }>({ name: `level-${level}` }),
    );
    levels.forEach((wf, i) => {
      wf.task({
        name: 'step',
        fn: async (input) => {
          ran.push(`${wf.name}:${input.path}`);
          // A runaway (the wrong workflow's code) stops here instead of filling the queue.
          if (ran.length > 20) throw new NonRetryableError('runaway');
          const next = levels[i + 1];
          if (!next) return 1;
          const kids = await next.runMany(
            ['a', 'b'].map((k) => next.createBulkRunItem({ path: `${input.path}${k}` })),
          );
          return 1 + kids.reduce((sum: number, kid) => sum + (kid as { step: number }).step, 0);
        },
      });
    });
    await (await skein.worker('w', { workflows: levels, slots: 10 })).start();

    expect(await levels[0].run({ path: '' })).toEqual({ step: 7 });
    expect(ran.sort()).toEqual([
      'level-1:',
      'level-2:a',
      'level-2:b',
      'level-3:aa',
      'level-3:ab',
      'level-3:ba',
      'level-3:bb',
    ]);
  });
});

describe('onFailure and onSuccess of several workflows', () => {
  it('each workflow’s hooks run its own code, on its own worker', async () => {
    const { skein } = await env.client();
    const hooks: string[] = [];
    const declare = (name: string) => {
      const wf = skein.workflow<{ fail: boolean }>({ name });
      wf.task({
        name: 'work',
        fn: (input) => {
          if (input.fail) throw new Error(`${name} failed`);
          return name;
        },
      });
      wf.onSuccess({ fn: (_i, ctx) => void hooks.push(`${name}.onSuccess@${ctx.workerId}`) });
      wf.onFailure({
        fn: (_i, ctx) =>
          void hooks.push(`${name}.onFailure@${ctx.workerId}:${ctx.taskRunErrors.work}`),
      });
      return wf;
    };
    const a = declare('A');
    const b = declare('B');
    const wa = await skein.worker('wa', { workflows: [a] });
    const wb = await skein.worker('wb', { workflows: [b] });
    await wa.start();
    await wb.start();

    const expected: string[] = [];
    for (let i = 0; i < 3; i++) {
      await a.run({ fail: false });
      await b.run({ fail: false });
      await expect(a.run({ fail: true })).rejects.toBeInstanceOf(RunFailedError);
      await expect(b.run({ fail: true })).rejects.toBeInstanceOf(RunFailedError);
      expected.push(
        `A.onSuccess@${wa.id}`,
        `B.onSuccess@${wb.id}`,
        `A.onFailure@${wa.id}:Error: A failed`,
        `B.onFailure@${wb.id}:Error: B failed`,
      );
    }
    await vi.waitFor(() => expect(hooks).toHaveLength(expected.length), { timeout: 10_000 });
    expect(hooks.sort()).toEqual(expected.sort());
  });
});

describe('names are unique per namespace', () => {
  it('a worker given two declarations of one name refuses to start, naming both', async () => {
    const { skein } = await env.client();
    const first = skein.task({ name: 'step', fn: () => 1 });
    const other = skein.task({ name: 'ok', fn: () => 2 });
    const second = skein.workflow({ name: 'step' });
    second.task({ name: 'a', fn: () => 3 });
    const worker = await skein.worker('w', { workflows: [first, other, second] });
    const started = worker.start();
    await expect(started).rejects.toBeInstanceOf(ValidationError);
    await expect(started).rejects.toThrow(/'step'/);
    await expect(started).rejects.toThrow(/workflows\[0\] \(task 'step'\)/);
    await expect(started).rejects.toThrow(/workflows\[2\] \(workflow 'step'\)/);
    // Nothing was registered and no worker is listed.
    await expect(skein.run('ok', {})).rejects.toThrow(/no task or workflow named 'ok'/);
    expect(await skein.workers.list()).toEqual([]);

    const twoTasks = await skein.worker('w', {
      workflows: [first, skein.task({ name: 'step', fn: () => 4 })],
    });
    await expect(twoTasks.start()).rejects.toThrow(
      /workflows\[0\] \(task 'step'\).*workflows\[1\] \(task 'step'\)/,
    );
  });

  it('the same declaration listed twice is one declaration', async () => {
    const { skein } = await env.client();
    const task = skein.task({ name: 'once', fn: () => 1 });
    await (await skein.worker('w', { workflows: [task, task] })).start();
    expect(await task.run({})).toBe(1);
  });

  it('a name two running workers register with different shapes is logged by the engine and listed', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const { skein, newClient } = await env.client({ engine: { logger } });
    const asTask = skein.task({ name: 'step', fn: () => 'task' });
    const w1 = await skein.worker('w1', { workflows: [asTask] });
    await w1.start();

    const elsewhere = newClient();
    const asWorkflow = elsewhere.workflow({ name: 'step' });
    asWorkflow.task({ name: 'a', fn: () => 'a' });
    asWorkflow.task({ name: 'b', fn: () => 'b' });
    const same = elsewhere.task({ name: 'same', fn: () => 1 });
    const w2 = await elsewhere.worker('w2', { workflows: [asWorkflow, same] });
    await w2.start();
    // Another worker with the same shape of 'same' is no conflict.
    const w3 = await skein.worker('w3', { workflows: [skein.task({ name: 'same', fn: () => 2 })] });
    await w3.start();

    const workers = await skein.workers.list();
    const conflicts = Object.fromEntries(workers.map((w) => [w.id, w.conflicts]));
    expect(conflicts[w1.id]).toEqual([expect.stringContaining(w2.id)]);
    expect(conflicts[w1.id][0]).toMatch(/^'step'/);
    expect(conflicts[w2.id]).toEqual([expect.stringContaining(w1.id)]);
    expect(conflicts[w3.id]).toEqual([]);
    await vi.waitFor(
      () => {
        const logged = lines.map((l) => JSON.parse(l) as { level: number; msg: string });
        expect(
          logged.some((l) => l.level >= 50 && l.msg.includes("'step'") && l.msg.includes(w2.id)),
        ).toBe(true);
      },
      { timeout: 10_000 },
    );

    // Once the other worker stops, the conflict is gone.
    await w2.stop();
    const after = await skein.workers.list();
    expect(after.find((w) => w.id === w1.id)?.conflicts).toEqual([]);
  });

  it('a worker record of another version hides no other worker from workers.list()', async () => {
    const { skein, namespace } = await env.client();
    const task = skein.task({ name: 't', fn: () => 1 });
    const worker = await skein.worker('w', { workflows: [task] });
    await worker.start();
    const nc = await connect({ servers: env.url });
    const n = names(namespace);
    const kv = await new Kvm(nc).open(n.buckets.workers);
    // What a worker that lists bare task names would store.
    await kv.put(
      n.workerKey('old-1'),
      encode({
        workerId: 'old-1',
        name: 'old',
        slots: 1,
        taskNames: ['t'],
        running: [],
        stopping: false,
        sentAt: Date.now(),
      }),
    );
    await nc.close();
    expect((await skein.workers.list()).map((w) => w.id)).toEqual([worker.id]);
    expect(await task.run({})).toBe(1);
  });
});
