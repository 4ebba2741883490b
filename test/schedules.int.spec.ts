/** `task.schedule(date, input)` and `skein.schedules`: one run at a given time, durable. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { NotFoundError, ValidationError } from 'skein';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

describe('schedules', () => {
  it('runs a task once at the scheduled time, and lists it before and after', async () => {
    const { skein } = await env.client();
    const remind = skein.task({
      name: 'remind',
      fn: (input: { to: string }, ctx) => ({
        to: input.to,
        at: Date.now(),
        meta: ctx.additionalMetadata,
      }),
    });
    await (await skein.worker('w', { workflows: [remind] })).start();
    const at = new Date(Date.now() + 1500);
    const s = await remind.schedule(at, { to: 'ada' }, { additionalMetadata: { why: 'test' } });
    expect(s).toEqual({ id: expect.any(String), triggerAt: at });
    expect(await skein.schedules.list()).toEqual([
      expect.objectContaining({
        id: s.id,
        workflowName: 'remind',
        triggerAt: at,
        status: 'SCHEDULED',
      }),
    ]);
    const [listed] = await skein.schedules.list();
    const out = await skein.runRef<{ to: string; at: number; meta: object }>(listed.runId).result();
    expect(out.to).toBe('ada');
    expect(out.at).toBeGreaterThanOrEqual(at.getTime());
    expect(out.meta).toEqual({ why: 'test', skein__schedule_id: s.id });
    expect(await skein.schedules.list()).toEqual([
      expect.objectContaining({ id: s.id, status: 'TRIGGERED', runId: listed.runId }),
    ]);
    expect(await skein.runs.list({ name: 'remind' })).toHaveLength(1);
  });

  it('runs at once when the date is already past', async () => {
    const { skein } = await env.client();
    const late = skein.task({ name: 'late', fn: () => 'done' });
    await (await skein.worker('w', { workflows: [late] })).start();
    const s = await late.schedule(new Date(Date.now() - 60_000));
    const [info] = (await skein.schedules.list()).filter((x) => x.id === s.id);
    expect(await skein.runRef(info.runId).result()).toBe('done');
  });

  it('does not run a deleted schedule', async () => {
    const { skein } = await env.client();
    const job = skein.task({ name: 'job', fn: (input: { n: number }) => input.n });
    await (await skein.worker('w', { workflows: [job] })).start();
    const doomed = await job.schedule(new Date(Date.now() + 800), { n: 1 });
    const kept = await job.schedule(new Date(Date.now() + 1200), { n: 2 });
    await skein.schedules.delete(doomed.id);
    expect((await skein.schedules.list()).map((x) => x.id)).toEqual([kept.id]);
    const [info] = await skein.schedules.list();
    expect(await skein.runRef(info.runId).result()).toBe(2);
    const runs = await skein.runs.list({ name: 'job' });
    expect(runs.map((r) => r.input)).toEqual([{ n: 2 }]);
    await expect(skein.schedules.delete(doomed.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(skein.schedules.delete('no-such-id')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses a bad date or input at the call', async () => {
    const { skein } = await env.client();
    const typed = skein.task({
      name: 'typed',
      inputValidator: z.object({ n: z.number() }),
      fn: (input) => input.n,
    });
    await expect(typed.schedule(new Date('nonsense'), { n: 1 })).rejects.toThrow(
      /date must be a valid Date/,
    );
    await expect(typed.schedule(new Date(), { n: 'x' } as never)).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect(await skein.schedules.list()).toEqual([]);
  });

  it('survives an engine stop and a nats-server restart while it waits', async () => {
    const { skein, engine, startEngine } = await env.client();
    const durable = skein.task({ name: 'durable', fn: () => 'still here' });
    await (await skein.worker('w', { workflows: [durable] })).start();
    const s = await durable.schedule(new Date(Date.now() + 2500));
    await engine.stop();
    await env.nats.restart();
    await startEngine();
    const [info] = await vi.waitFor(() => skein.schedules.list(), { timeout: 10_000 });
    expect(info.id).toBe(s.id);
    expect(await skein.runRef(info.runId).result()).toBe('still here');
    // On time: a new leader takes the timers up at once, not after the server's ack_wait.
    const run = await skein.runs.get(info.runId);
    expect(run.createdAt.getTime() - s.triggerAt.getTime()).toBeLessThan(10_000);
    expect(await skein.runs.list({ name: 'durable' })).toHaveLength(1);
  });
});
