/**
 * How runs fail: errors keep their class, a failure stops only what depends on it, input that
 * fails its validator fails the run once and onFailure still runs, and the run's last event
 * is its end.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { RunFailedError, type RunInfo, type Skein } from 'skein';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

/** The one run an event started, once it ended. */
async function endedRunOf(skein: Skein, eventId: string): Promise<RunInfo> {
  return vi.waitFor(
    async () => {
      const runs = await skein.runs.list({ additionalMetadata: { skein__event_id: eventId } });
      expect(runs).toHaveLength(1);
      expect(['COMPLETED', 'FAILED', 'CANCELLED']).toContain(runs[0].status);
      return runs[0];
    },
    { timeout: 20_000, interval: 100 },
  );
}

const statuses = (run: RunInfo) => Object.fromEntries(run.tasks.map((t) => [t.name, t.status]));

const order = z.object({ customerId: z.string(), amount: z.number() });
type Order = z.infer<typeof order>;

describe('an event whose payload fails the inputValidator', () => {
  it("fails the run once with the validator's message, although the concurrency key cannot be computed, and onFailure still runs with the raw input", async () => {
    const { skein } = await env.client();
    const alerts: { input: unknown; errors: Record<string, string> }[] = [];
    const ran: string[] = [];
    const wf = skein.workflow<Order>({
      name: 'orders',
      inputValidator: order,
      onEvents: ['order:created'],
      concurrency: { expression: 'input.customerId', maxRuns: 1 },
    });
    const check = wf.task({ name: 'check', fn: () => void ran.push('check') });
    wf.task({ name: 'audit', fn: () => void ran.push('audit') });
    wf.task({ name: 'charge', parents: [check], fn: () => void ran.push('charge') });
    wf.onFailure({
      fn: (input, ctx) => void alerts.push({ input, errors: ctx.taskRunErrors }),
    });
    await (await skein.worker('w', { workflows: [wf] })).start();

    const { eventId } = await skein.events.push('order:created', { amount: 5 });
    const run = await endedRunOf(skein, eventId);
    expect(run.status).toBe('FAILED');
    expect(run.error).toMatch(/ValidationError: input of 'orders' is invalid: customerId/);
    expect(run.error).not.toMatch(/concurrency|CEL|customerId'? not found/i);
    expect(run.errorClass).toBe('ValidationError');
    await vi.waitFor(() => expect(alerts).toHaveLength(1), { timeout: 10_000 });
    expect(alerts[0].input).toEqual({ amount: 5 });
    expect(Object.values(alerts[0].errors)).toEqual([
      expect.stringMatching(/^ValidationError: input of 'orders' is invalid: customerId/),
    ]);
    expect(ran).toEqual([]);
    const history = await skein.runs.history(run.id);
    expect(history.filter((e) => e.type === 'TaskFailed')).toHaveLength(1);
    expect(statuses(run)).toMatchObject({ on_failure: 'COMPLETED' });
    const failed = run.tasks.filter((t) => t.status === 'FAILED');
    expect(failed).toHaveLength(1);
    expect(failed[0].errorClass).toBe('ValidationError');
  });

  it('fails once when several tasks would each check the input', async () => {
    const { skein } = await env.client();
    const alerts: Record<string, string>[] = [];
    const wf = skein.workflow<Order>({
      name: 'fan',
      inputValidator: order,
      onEvents: ['order:placed'],
    });
    for (const name of ['a', 'b', 'c']) wf.task({ name, fn: () => name });
    wf.onFailure({ fn: (_input, ctx) => void alerts.push(ctx.taskRunErrors) });
    await (await skein.worker('w', { workflows: [wf], slots: 5 })).start();

    const { eventId } = await skein.events.push('order:placed', { customerId: 7 });
    const run = await endedRunOf(skein, eventId);
    expect(run).toMatchObject({ status: 'FAILED', errorClass: 'ValidationError' });
    const history = await skein.runs.history(run.id);
    expect(history.filter((e) => e.type === 'TaskFailed')).toHaveLength(1);
    await vi.waitFor(() => expect(alerts).toHaveLength(1), { timeout: 10_000 });
    expect(Object.values(alerts[0])).toEqual([
      expect.stringMatching(/^ValidationError: input of 'fan' is invalid: customerId/),
    ]);
  });
});

describe('onFailure and onSuccess in tasks[]', () => {
  it('show only once they were queued: a successful run has no cancelled on_failure', async () => {
    const { skein } = await env.client();
    const wf = skein.workflow({ name: 'fine' });
    wf.task({ name: 'a', fn: () => 1 });
    wf.onFailure({ fn: () => 'alert' });
    wf.onSuccess({ fn: () => 'celebrate' });
    await (await skein.worker('w', { workflows: [wf] })).start();
    const ref = await wf.runNoWait({});
    await ref.result();
    const run = await skein.runs.get(ref.runId);
    expect(statuses(run)).toEqual({ a: 'COMPLETED', on_success: 'COMPLETED' });
    const history = await skein.runs.history(ref.runId);
    expect(history.filter((e) => e.type === 'TaskCancelled')).toEqual([]);
  });
});

describe('a task that fails for good', () => {
  it('stops its dependents; an independent task still gets its retry; then onFailure runs and run() rejects', async () => {
    const { skein } = await env.client();
    const steps: string[] = [];
    const wf = skein.workflow({ name: 'branches' });
    const doomed = wf.task({
      name: 'doomed',
      fn: () => {
        steps.push('doomed');
        throw new Error('card declined');
      },
    });
    wf.task({ name: 'after-doomed', parents: [doomed], fn: () => void steps.push('after') });
    wf.task({
      name: 'flaky',
      retries: 1,
      fn: async (_input, ctx) => {
        steps.push(`flaky ${ctx.attemptNumber}`);
        // Fails only once the run recorded the other branch's failure, so the retry comes after it.
        if (ctx.attemptNumber === 1) {
          await vi.waitFor(
            async () => {
              const run = await skein.runs.get(ctx.runId);
              expect(run.tasks.find((t) => t.name === 'doomed')?.status).toBe('FAILED');
            },
            { timeout: 20_000, interval: 100 },
          );
          throw new Error('try again');
        }
        return 'second time lucky';
      },
    });
    wf.onFailure({ fn: () => void steps.push('on_failure') });
    await (await skein.worker('w', { workflows: [wf], slots: 5 })).start();

    const ref = await wf.runNoWait({});
    const err = await ref.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunFailedError);
    expect((err as RunFailedError).errors).toEqual({ doomed: 'Error: card declined' });
    expect(steps.filter((s) => s !== 'doomed')).toEqual(['flaky 1', 'flaky 2', 'on_failure']);
    const run = await skein.runs.get(ref.runId);
    expect(statuses(run)).toEqual({
      doomed: 'FAILED',
      'after-doomed': 'CANCELLED',
      flaky: 'COMPLETED',
      on_failure: 'COMPLETED',
    });
    expect(run.tasks.find((t) => t.name === 'flaky')).toMatchObject({
      attempts: 2,
      output: 'second time lucky',
    });
    expect(run).toMatchObject({ error: 'doomed: Error: card declined', errorClass: 'Error' });
  });
});

class PaymentDeclined extends Error {}

describe('errors keep their class', () => {
  it("read '<Class>: <message>' in runs.get, tasks[], RunFailedError and ctx.taskRunErrors, with the stack in the history", async () => {
    const { skein } = await env.client();
    const seen: Record<string, string>[] = [];
    const wf = skein.workflow({ name: 'classy' });
    wf.task({
      name: 'typo',
      fn: () => (undefined as unknown as { x: number }).x,
    });
    wf.task({
      name: 'declined',
      fn: () => {
        throw new PaymentDeclined('card 4242 declined');
      },
    });
    wf.onFailure({ fn: (_input, ctx) => void seen.push(ctx.taskRunErrors) });
    await (await skein.worker('w', { workflows: [wf] })).start();

    const ref = await wf.runNoWait({});
    const err = (await ref.result().catch((e: unknown) => e)) as RunFailedError;
    expect(err).toBeInstanceOf(RunFailedError);
    const expected = {
      typo: expect.stringMatching(/^TypeError: Cannot read properties of undefined/),
      declined: 'PaymentDeclined: card 4242 declined',
    };
    expect(err.errors).toEqual(expected);
    expect(seen).toEqual([expected]);
    const run = await skein.runs.get(ref.runId);
    const byName = Object.fromEntries(run.tasks.map((t) => [t.name, t]));
    expect(byName.typo).toMatchObject({ error: expected.typo, errorClass: 'TypeError' });
    expect(byName.declined).toMatchObject({
      error: expected.declined,
      errorClass: 'PaymentDeclined',
    });
    expect(['TypeError', 'PaymentDeclined']).toContain(run.errorClass);
    expect(run.error).toContain('declined: PaymentDeclined: card 4242 declined');
    const failures = (await skein.runs.history(ref.runId)).filter((e) => e.type === 'TaskFailed');
    const declined = failures.find((e) => e.data.taskName === 'declined');
    expect((declined?.data.error as { stack?: string }).stack).toMatch(
      /^PaymentDeclined: card 4242 declined\n\s+at /,
    );
  });

  it('input a worker checks fails as a ValidationError', async () => {
    const { skein } = await env.client();
    const strict = skein.task({
      name: 'strict',
      inputValidator: z.object({ n: z.number() }),
      fn: (input) => input.n,
    });
    await (await skein.worker('w', { workflows: [strict] })).start();
    const err = (await skein
      .run('strict', { n: 'one' })
      .catch((e: unknown) => e)) as RunFailedError;
    expect(err).toBeInstanceOf(RunFailedError);
    expect(err.errors.strict).toMatch(/^ValidationError: input of 'strict' is invalid: n: /);
    expect((await skein.runs.get(err.runId)).errorClass).toBe('ValidationError');
  });
});

describe("a concurrency-limited run's history", () => {
  it('ends with its terminal event, after its slots were given back', async () => {
    const { skein } = await env.client();
    const limited = skein.task({
      name: 'limited',
      concurrency: { expression: 'input.user', maxRuns: 1 },
      fn: (input: { user: string; fail?: boolean }) => {
        if (input.fail) throw new Error('no');
        return input.user;
      },
    });
    await (await skein.worker('w', { workflows: [limited] })).start();
    const ok = await limited.runNoWait({ user: 'ann' });
    await ok.result();
    const bad = await limited.runNoWait({ user: 'ann', fail: true });
    await bad.result().catch(() => undefined);
    for (const [ref, last] of [
      [ok, 'RunCompleted'],
      [bad, 'RunFailed'],
    ] as const) {
      const types = (await skein.runs.history(ref.runId)).map((e) => e.type);
      expect(types).toContain('AdmissionReleased');
      expect(types.at(-1)).toBe(last);
    }
  });
});
