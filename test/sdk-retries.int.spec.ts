/** Retries, NonRetryableError and backoff of standalone tasks, against a real engine. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NonRetryableError, RunFailedError } from 'skein';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

interface Attempt {
  attemptNumber: number;
  retryCount: number;
  maxAttempts: number;
}

describe('retries', () => {
  it('a task that fails twice then succeeds, with retries: 2, completes on attempt 3', async () => {
    const { skein } = await env.client();
    const attempts: Attempt[] = [];
    const flaky = skein.task({
      name: 'flaky',
      retries: 2,
      fn: (_: unknown, ctx) => {
        attempts.push({
          attemptNumber: ctx.attemptNumber,
          retryCount: ctx.retryCount,
          maxAttempts: ctx.maxAttempts,
        });
        if (ctx.attemptNumber < 3) throw new Error(`failure ${ctx.attemptNumber}`);
        return 'third time lucky';
      },
    });
    await (await skein.worker('w', { workflows: [flaky] })).start();

    const ref = await flaky.runNoWait({});
    expect(await ref.result()).toBe('third time lucky');
    expect(attempts).toEqual([
      { attemptNumber: 1, retryCount: 0, maxAttempts: 3 },
      { attemptNumber: 2, retryCount: 1, maxAttempts: 3 },
      { attemptNumber: 3, retryCount: 2, maxAttempts: 3 },
    ]);
    const run = await skein.runs.get(ref.runId);
    expect(run.status).toBe('COMPLETED');
    expect(run.error).toBeNull();
    expect(run.tasks).toHaveLength(1);
    expect(run.tasks[0]).toMatchObject({
      name: 'flaky',
      status: 'COMPLETED',
      attempts: 3,
      error: null,
      output: 'third time lucky',
    });
    const types = (await skein.runs.history(ref.runId)).map((e) => e.type);
    expect(types.filter((t) => t === 'TaskFailed')).toHaveLength(2);
    expect(types.filter((t) => t === 'TaskQueued')).toHaveLength(3);
  });

  it('without retries a failing task runs once', async () => {
    const { skein } = await env.client();
    let executions = 0;
    const once = skein.task({
      name: 'once',
      fn: (_: unknown, ctx) => {
        executions++;
        expect(ctx.maxAttempts).toBe(1);
        throw new Error('no second chance');
      },
    });
    await (await skein.worker('w', { workflows: [once] })).start();
    await expect(once.run({})).rejects.toThrow(/no second chance/);
    expect(executions).toBe(1);
  });

  it('exhausted retries reject with RunFailedError: runId and the last message per task', async () => {
    const { skein } = await env.client();
    let executions = 0;
    const doomed = skein.task({
      name: 'doomed',
      retries: 2,
      fn: (_: unknown, ctx) => {
        executions++;
        throw new Error(`attempt ${ctx.attemptNumber} failed`);
      },
    });
    await (await skein.worker('w', { workflows: [doomed] })).start();

    const ref = await doomed.runNoWait({});
    const err = await ref.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunFailedError);
    expect((err as RunFailedError).runId).toBe(ref.runId);
    expect((err as RunFailedError).errors).toEqual({ doomed: 'Error: attempt 3 failed' });
    expect(executions).toBe(3);
    const run = await skein.runs.get(ref.runId);
    expect(run.status).toBe('FAILED');
    expect(run).toMatchObject({ error: 'Error: attempt 3 failed', errorClass: 'Error' });
    expect(run.tasks[0]).toMatchObject({
      status: 'FAILED',
      attempts: 3,
      error: 'Error: attempt 3 failed',
      errorClass: 'Error',
    });
    const history = await skein.runs.history(ref.runId);
    expect(history.at(-1)!.type).toBe('RunFailed');
  });

  it('NonRetryableError fails the run at once despite retries left', async () => {
    const { skein } = await env.client();
    let executions = 0;
    const strict = skein.task({
      name: 'strict',
      retries: 5,
      fn: () => {
        executions++;
        throw new NonRetryableError('card declined');
      },
    });
    await (await skein.worker('w', { workflows: [strict] })).start();

    const ref = await strict.runNoWait({});
    const err = await ref.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunFailedError);
    expect((err as RunFailedError).errors).toEqual({ strict: 'NonRetryableError: card declined' });
    expect(executions).toBe(1);
    expect((await skein.runs.get(ref.runId)).tasks[0].attempts).toBe(1);
  });

  it('a thrown non-Error value still fails the attempt with a readable message', async () => {
    const { skein } = await env.client();
    const odd = skein.task({
      name: 'odd',
      fn: () => {
        throw 'plain string';
      },
    });
    await (await skein.worker('w', { workflows: [odd] })).start();
    const err = await odd.run({}).catch((e: unknown) => e);
    expect((err as RunFailedError).errors).toEqual({ odd: 'Error: plain string' });
  });
});

describe('backoff', () => {
  it('{ factor: 2, maxSeconds: 1 } waits about a second before the retry', async () => {
    const { skein } = await env.client();
    const starts: number[] = [];
    let failedAt = 0;
    const patient = skein.task({
      name: 'patient',
      retries: 1,
      backoff: { factor: 2, maxSeconds: 1 },
      fn: (_: unknown, ctx) => {
        starts.push(Date.now());
        if (ctx.attemptNumber === 1) {
          failedAt = Date.now();
          throw new Error('not yet');
        }
        return 'ok';
      },
    });
    await (await skein.worker('w', { workflows: [patient] })).start();

    const ref = await patient.runNoWait({});
    expect(await ref.result()).toBe('ok');
    expect(starts).toHaveLength(2);
    const gap = starts[1] - failedAt;
    // factor^1 = 2 s, capped at 1 s; the timer may fire a little late, never early.
    expect(gap).toBeGreaterThanOrEqual(950);
    expect(gap).toBeLessThan(5000);
    const history = await skein.runs.history(ref.runId);
    const scheduled = history.find((e) => e.type === 'RetryScheduled');
    expect(scheduled?.data).toMatchObject({ taskName: 'patient', attempt: 2 });
  });

  it('without backoff the retry follows at once', async () => {
    const { skein } = await env.client();
    const starts: number[] = [];
    const eager = skein.task({
      name: 'eager',
      retries: 1,
      fn: (_: unknown, ctx) => {
        starts.push(Date.now());
        if (ctx.attemptNumber === 1) throw new Error('again');
        return 'ok';
      },
    });
    await (await skein.worker('w', { workflows: [eager] })).start();
    expect(await eager.run({})).toBe('ok');
    expect(starts[1] - starts[0]).toBeLessThan(900);
  });
});
