/** Workflow conditions: branches by parent output, durable sleeps, cancelIf, bad CEL. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Or,
  ParentCondition,
  RunCancelledError,
  SleepCondition,
  UserEventCondition,
  ValidationError,
} from 'skein';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';
import { waitForHistory } from './support/history.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

describe('workflow conditions', () => {
  it('chooses a branch with a ParentCondition; the other is skipped, and so are its dependents', async () => {
    const { skein } = await env.client();
    const wf = skein.workflow<{ amount: number }>({ name: 'approval' });
    const check = wf.task({ name: 'check', fn: (input) => ({ amount: input.amount }) });
    const review = wf.task({
      name: 'review',
      parents: [check],
      skipIf: new ParentCondition(check, 'output.amount <= 100'),
      fn: () => 'reviewed by a person',
    });
    wf.task({ name: 'notify_reviewer', parents: [review], fn: () => 'mail sent' });
    wf.task({
      name: 'auto',
      parents: [check],
      skipIf: { parent: check, expression: 'output.amount > 100' },
      fn: () => 'approved automatically',
    });
    await (await skein.worker('w', { workflows: [wf] })).start();
    expect(await wf.run({ amount: 50 })).toEqual({
      check: { amount: 50 },
      review: { skipped: true },
      notify_reviewer: { skipped: true },
      auto: 'approved automatically',
    });
    const big = await wf.run({ amount: 500 });
    expect(big).toMatchObject({
      review: 'reviewed by a person',
      notify_reviewer: 'mail sent',
      auto: { skipped: true },
    });
  });

  it('holds a task for a durable sleep', async () => {
    const { skein } = await env.client();
    const wf = skein.workflow({ name: 'sleepy' });
    const first = wf.task({ name: 'first', fn: () => Date.now() });
    wf.task({
      name: 'later',
      parents: [first],
      waitFor: Or(new SleepCondition('1s'), { parent: first, expression: 'output < 0' }),
      fn: (_in, ctx) => Date.now() - ctx.parentOutput(first),
    });
    await (await skein.worker('w', { workflows: [wf] })).start();
    const out = await wf.run({});
    expect(out.later).toBeGreaterThanOrEqual(950);
    expect(out.later).toBeLessThan(10_000);
  });

  it('holds a root task (one with no parents) for a durable sleep', async () => {
    const { skein } = await env.client();
    const wf = skein.workflow({ name: 'sleepy-root' });
    wf.task({ name: 'later', waitFor: new SleepCondition('400ms'), fn: () => Date.now() });
    await (await skein.worker('w', { workflows: [wf] })).start();
    const started = Date.now();
    const out = (await wf.run({})) as { later: number };
    expect(out.later - started).toBeGreaterThanOrEqual(400);
  });

  it('cancels the run when cancelIf holds', async () => {
    const { skein } = await env.client();
    const wf = skein.workflow({ name: 'guarded' });
    const score = wf.task({ name: 'score', fn: () => ({ fraud: true }) });
    wf.task({
      name: 'ship',
      parents: [score],
      cancelIf: [{ parent: score, expression: 'output.fraud' }],
      fn: () => 'shipped',
    });
    await (await skein.worker('w', { workflows: [wf] })).start();
    const err = await wf.run({}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunCancelledError);
    expect((err as Error).message).toMatch(/cancelled by condition/);
  });

  it('refuses bad conditions at declaration, naming the task', async () => {
    const { skein } = await env.client();
    const wf = skein.workflow({ name: 'bad-conditions' });
    const a = wf.task({ name: 'a', fn: () => 1 });
    expect(() =>
      wf.task({ name: 'b', parents: [a], skipIf: new ParentCondition(a, 'output >'), fn: () => 1 }),
    ).toThrow(/task 'b', skipIf: bad CEL expression/);
    expect(() =>
      wf.task({ name: 'c', skipIf: new ParentCondition(a, 'output > 1'), fn: () => 1 }),
    ).toThrow(/not one of its parents/);
    expect(() => wf.task({ name: 'd', waitFor: new SleepCondition('soon'), fn: () => 1 })).toThrow(
      ValidationError,
    );
    expect(() =>
      wf.task({ name: 'e', waitFor: new UserEventCondition('order:paid', 'input.'), fn: () => 1 }),
    ).toThrow(/task 'e', waitFor: bad CEL expression/);
  });

  it('holds an approval step until a matching event is pushed, ignoring others', async () => {
    const { skein } = await env.client();
    const wf = skein.workflow<{ orderId: number }>({ name: 'needs-approval' });
    const prepare = wf.task({ name: 'prepare', fn: (input) => input.orderId });
    wf.task({
      name: 'ship',
      parents: [prepare],
      waitFor: new UserEventCondition('order:approved', 'input.approved == true'),
      fn: () => 'shipped',
    });
    await (await skein.worker('w', { workflows: [wf] })).start();
    const ref = await wf.runNoWait({ orderId: 7 });
    await waitForHistory(skein, ref.runId, 'TaskWaiting', { timeout: 5000 });
    await skein.events.push('order:approved', { approved: false });
    await skein.events.push('order:other', { approved: true });
    expect((await skein.runs.get(ref.runId)).status).not.toBe('COMPLETED');
    await skein.events.push('order:approved', { approved: true });
    expect(await ref.result()).toEqual({ prepare: 7, ship: 'shipped' });
  });

  it('tells a task’s waitFor and cancelIf conditions apart: the event it waits for does not cancel it', async () => {
    const { skein } = await env.client();
    const wf = skein.workflow({ name: 'go-or-stop' });
    wf.task({
      name: 'go',
      waitFor: new UserEventCondition('signal:go'),
      cancelIf: new UserEventCondition('signal:stop'),
      fn: () => 'went',
    });
    await (await skein.worker('w', { workflows: [wf] })).start();
    const ref = await wf.runNoWait({});
    await waitForHistory(skein, ref.runId, 'TaskWaiting', { timeout: 15_000 });
    await skein.events.push('signal:go', {});
    expect(await ref.result()).toEqual({ go: 'went' });
  });

  it('sees an event pushed before the task waited, given a look-back since', async () => {
    const { skein } = await env.client();
    const since = new Date(Date.now() - 1000);
    await skein.events.push('config:ready', { v: 2 });
    const wf = skein.workflow({ name: 'look-back' });
    wf.task({
      name: 'go',
      waitFor: new UserEventCondition('config:ready', '', undefined, { since }),
      fn: () => 'went',
    });
    await (await skein.worker('w', { workflows: [wf] })).start();
    expect(await wf.run({})).toEqual({ go: 'went' });
  });
});
