/** Workflows: DAGs of tasks, parent outputs, onFailure / onSuccess, declaration errors. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunCancelledError, RunFailedError, ValidationError } from 'skein';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { decode } from '../runtime/codec.js';
import { names } from '../runtime/protocol.js';
import { registryKey } from '../runtime/subjects.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

describe('workflow', () => {
  it('runs a two-step DAG: the child reads its parent’s output; the result is keyed by task', async () => {
    const { skein } = await env.client();
    const wf = skein.workflow<{ base: number }>({ name: 'two-step' });
    const first = wf.task({ name: 'first', fn: (input) => ({ value: input.base }) });
    wf.task({
      name: 'second',
      parents: [first],
      fn: (_input, ctx) => ({ doubled: ctx.parentOutput(first).value * 2 }),
    });
    await (await skein.worker('w', { workflows: [wf] })).start();
    expect(await wf.run({ base: 10 })).toEqual({ first: { value: 10 }, second: { doubled: 20 } });
  });

  it('fans out and in: the join starts after every branch, with all their outputs', async () => {
    const { skein } = await env.client();
    const wf = skein.workflow({ name: 'fan' });
    const start = wf.task({ name: 'start', fn: () => 3 });
    const branches = [1, 2, 3, 4, 5].map((i) =>
      wf.task({ name: `b${i}`, parents: [start], fn: (_in, ctx) => ctx.parentOutput(start) * i }),
    );
    wf.task({
      name: 'join',
      parents: branches,
      fn: (_in, ctx) => branches.reduce((sum, b) => sum + ctx.parentOutput(b), 0),
    });
    await (await skein.worker('w', { workflows: [wf], slots: 5 })).start();
    const out = await wf.run({});
    expect(out.join).toBe(3 * (1 + 2 + 3 + 4 + 5));
    expect(Object.keys(out).sort()).toEqual(['b1', 'b2', 'b3', 'b4', 'b5', 'join', 'start']);
  });

  it('runs onFailure once with the failed tasks’ errors, skips what depended on them, and fails', async () => {
    const { skein } = await env.client();
    const seen: Record<string, string>[] = [];
    const wf = skein.workflow({ name: 'failing' });
    const a = wf.task({
      name: 'a',
      fn: () => {
        throw new Error('card declined');
      },
    });
    wf.task({ name: 'b', parents: [a], fn: () => 'never' });
    wf.onFailure({ fn: (_in, ctx) => void seen.push(ctx.taskRunErrors) });
    await (await skein.worker('w', { workflows: [wf] })).start();
    const ref = await wf.runNoWait({});
    const err = await ref.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunFailedError);
    expect((err as RunFailedError).errors).toEqual({ a: 'Error: card declined' });
    expect(seen).toEqual([{ a: 'Error: card declined' }]);
    const run = await skein.runs.get(ref.runId);
    const status = Object.fromEntries(run.tasks.map((t) => [t.name, t.status]));
    expect(status).toEqual({ a: 'FAILED', b: 'CANCELLED', on_failure: 'COMPLETED' });
  });

  it('runs onSuccess after every task succeeded', async () => {
    const { skein } = await env.client();
    const order: string[] = [];
    const wf = skein.workflow({ name: 'succeeding' });
    const a = wf.task({ name: 'a', fn: () => void order.push('a') });
    wf.task({ name: 'b', parents: [a], fn: () => void order.push('b') });
    wf.onSuccess({ fn: () => void order.push('on_success') });
    await (await skein.worker('w', { workflows: [wf] })).start();
    await wf.run({});
    expect(order).toEqual(['a', 'b', 'on_success']);
  });

  it('cancels a running workflow: its running task sees the abort, the rest never run', async () => {
    const { skein } = await env.client();
    let aborted = false;
    let laterRan = false;
    const wf = skein.workflow({ name: 'cancellable' });
    const slow = wf.task({
      name: 'slow',
      fn: (_in, ctx) =>
        new Promise((resolve) =>
          ctx.signal.addEventListener('abort', () => resolve((aborted = true))),
        ),
    });
    wf.task({ name: 'later', parents: [slow], fn: () => (laterRan = true) });
    await (await skein.worker('w', { workflows: [wf] })).start();
    const ref = await wf.runNoWait({});
    await expect
      .poll(async () => (await skein.runs.get(ref.runId)).status, { timeout: 5000 })
      .toBe('RUNNING');
    await ref.cancel();
    await expect(ref.result()).rejects.toBeInstanceOf(RunCancelledError);
    await expect.poll(() => aborted, { timeout: 5000 }).toBe(true);
    expect(laterRan).toBe(false);
  });

  it('rejects bad declarations at once, naming the workflow and the task', async () => {
    const { skein } = await env.client();
    const wf = skein.workflow({ name: 'bad' });
    const other = skein.workflow({ name: 'other' });
    const foreign = other.task({ name: 'x', fn: () => 1 });
    const a = wf.task({ name: 'a', fn: () => 1 });
    expect(() => wf.task({ name: 'a', fn: () => 2 })).toThrow(
      /workflow 'bad', task 'a'.*declared already/,
    );
    expect(() => wf.task({ name: 'b', parents: [foreign], fn: () => 1 })).toThrow(ValidationError);
    expect(() => wf.task({ name: 'b', parents: [{ name: 'later' }], fn: () => 1 })).toThrow(
      /workflow 'bad', task 'b': parent 'later'/,
    );
    expect(() => wf.task({ name: 'c', parents: [a], retries: -1, fn: () => 1 })).toThrow(/retries/);
    wf.onFailure({ fn: () => undefined });
    expect(() => wf.onFailure({ fn: () => undefined })).toThrow(/onFailure: declared twice/);
  });

  it('applies taskDefaults, lets a task override them, and stores declared triggers', async () => {
    const { skein, namespace } = await env.client();
    const attempts: Record<string, number> = { flaky: 0, strict: 0 };
    const wf = skein.workflow({
      name: 'defaults',
      onEvents: ['order:*'],
      onCrons: ['0 2 * * *'],
      taskDefaults: { retries: 2 },
    });
    const flaky = wf.task({
      name: 'flaky',
      fn: () => {
        if (++attempts.flaky < 3) throw new Error('again');
        return 'ok';
      },
    });
    wf.task({
      name: 'strict',
      parents: [flaky],
      retries: 0,
      fn: () => {
        attempts.strict++;
        throw new Error('no');
      },
    });
    await (await skein.worker('w', { workflows: [wf] })).start();
    const err = await wf.run({}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunFailedError);
    expect(attempts).toEqual({ flaky: 3, strict: 1 });

    const kv = await new Kvm(await connect({ servers: env.url })).open(
      names(namespace).buckets.registry,
    );
    const stored = decode<{ onEvents?: string[]; onCrons?: string[] }>(
      (await kv.get(registryKey('defaults')))!.value,
    );
    expect(stored).toMatchObject({ onEvents: ['order:*'], onCrons: ['0 2 * * *'] });
    expect(() => skein.workflow({ name: 'x', onEvents: [''] })).toThrow(
      /onEvents must be a list of non-empty strings/,
    );
  });
});
