/**
 * Crons: `createCron`, declared `onCrons`, `skein.crons`. Ticks are minutes apart, so most
 * tests run the engines on a clock set just before a minute (the engine's `clock` option)
 * and move it forward; the engine code is the production code, with timers looked at every
 * 100 ms instead of every hour (`timerRecheckMs`) so that a moved clock is noticed.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { NotFoundError, ValidationError, type Skein } from 'skein';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

/** Real time moved to wherever a test sets it. */
function movableClock(at: string) {
  let offset = Date.parse(at) - Date.now();
  return {
    now: () => Date.now() + offset,
    set(iso: string) {
      offset = Date.parse(iso) - Date.now();
    },
  };
}

const ticksOf = async (skein: Skein, cronId: string) =>
  (await skein.runs.list({ additionalMetadata: { skein__cron_id: cronId } }))
    .map((r) => r.additionalMetadata.skein__cron_tick)
    .sort();

const waitForTicks = (skein: Skein, cronId: string, ticks: string[], timeout = 10_000) =>
  vi.waitFor(async () => expect(await ticksOf(skein, cronId)).toEqual(ticks), {
    timeout,
    interval: 100,
  });

describe('createCron and skein.crons', () => {
  it('refuses a bad expression, timezone or name at the call', async () => {
    const { skein } = await env.client();
    const job = skein.task({ name: 'job', fn: () => 1 });
    await expect(job.createCron('c', '* * * *')).rejects.toThrow(/must have 5 fields/);
    await expect(job.createCron('c', '99 * * * *')).rejects.toBeInstanceOf(ValidationError);
    await expect(job.createCron('c', '@fortnightly')).rejects.toThrow(/unknown cron alias/);
    await expect(job.createCron('c', '0 9 * * *', {}, { timezone: 'Moon/Base' })).rejects.toThrow(
      /unknown timezone/,
    );
    await expect(job.createCron('', '0 9 * * *')).rejects.toBeInstanceOf(ValidationError);
    expect(() => skein.task({ name: 'bad', onCrons: ['every day'], fn: () => 1 })).toThrow(
      ValidationError,
    );
    expect(await skein.crons.list()).toEqual([]);
  });

  it('lists, replaces by name, and deletes crons', async () => {
    const { skein } = await env.client();
    const report = skein.task({ name: 'report', fn: () => 1 });
    const nightly = await report.createCron('nightly', '0 2 * * *', { full: true });
    const ny = await report.createCron(
      'morning-ny',
      '0 9 * * *',
      {},
      { timezone: 'America/New_York' },
    );
    expect(nightly).toEqual({ id: expect.any(String), name: 'nightly', expression: '0 2 * * *' });
    const listed = await skein.crons.list();
    expect(listed.map((c) => [c.name, c.workflowName, c.expression, c.timezone])).toEqual([
      ['morning-ny', 'report', '0 9 * * *', 'America/New_York'],
      ['nightly', 'report', '0 2 * * *', 'UTC'],
    ]);
    const nextNy = listed[0].nextRunAt!;
    const local = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'America/New_York',
      hour: '2-digit',
      minute: '2-digit',
    }).format(nextNy);
    expect(local).toBe('09:00');
    expect(listed[1].nextRunAt!.toISOString()).toMatch(/T02:00:00\.000Z$/);

    const again = await report.createCron('nightly', '30 3 * * *');
    expect(again.id).toBe(nightly.id);
    expect((await skein.crons.list()).find((c) => c.id === nightly.id)?.expression).toBe(
      '30 3 * * *',
    );

    await skein.crons.delete(ny.id);
    expect((await skein.crons.list()).map((c) => c.name)).toEqual(['nightly']);
    await expect(skein.crons.delete(ny.id)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('cron ticks', () => {
  it('fires each tick exactly once with two engines running', async () => {
    const clock = movableClock('2031-05-06T10:00:58.000Z');
    const engine = { clock, timerRecheckMs: 100 };
    const { skein, startEngine } = await env.client({ engine });
    await startEngine(engine);
    const job = skein.task({ name: 'minutely', fn: () => 1 });
    const cron = await job.createCron('every-minute', '* * * * *', { n: 1 });

    await waitForTicks(skein, cron.id, ['2031-05-06T10:01:00.000Z']);
    clock.set('2031-05-06T10:01:59.000Z');
    await waitForTicks(skein, cron.id, ['2031-05-06T10:01:00.000Z', '2031-05-06T10:02:00.000Z']);
    clock.set('2031-05-06T10:02:59.500Z');
    await waitForTicks(skein, cron.id, [
      '2031-05-06T10:01:00.000Z',
      '2031-05-06T10:02:00.000Z',
      '2031-05-06T10:03:00.000Z',
    ]);
    const runs = await skein.runs.list({ additionalMetadata: { skein__cron_id: cron.id } });
    expect(runs.every((r) => (r.input as { n: number }).n === 1)).toBe(true);
    // A tick's run starts within 2 s of its minute.
    for (const r of runs)
      expect(
        r.createdAt.getTime() - Date.parse(r.additionalMetadata.skein__cron_tick),
      ).toBeLessThan(2000);
    const [info] = await skein.crons.list();
    expect(info.lastRunAt?.toISOString()).toBe('2031-05-06T10:03:00.000Z');
    expect(info.nextRunAt?.toISOString()).toBe('2031-05-06T10:04:00.000Z');
  });

  it('fires a tick missed while every engine was down once on recovery, not once per missed tick', async () => {
    const clock = movableClock('2031-05-06T10:00:58.500Z');
    const engine = { clock, timerRecheckMs: 100 };
    const { skein, engine: first, startEngine } = await env.client({ engine });
    const job = skein.task({ name: 'minutely', fn: () => 1 });
    const cron = await job.createCron('every-minute', '* * * * *');
    await waitForTicks(skein, cron.id, ['2031-05-06T10:01:00.000Z']);

    await first.stop();
    clock.set('2031-05-06T10:05:30.000Z'); // 10:02 to 10:05 pass with no engine
    await startEngine(engine);
    await waitForTicks(skein, cron.id, ['2031-05-06T10:01:00.000Z', '2031-05-06T10:05:00.000Z']);
    clock.set('2031-05-06T10:05:59.500Z');
    await waitForTicks(skein, cron.id, [
      '2031-05-06T10:01:00.000Z',
      '2031-05-06T10:05:00.000Z',
      '2031-05-06T10:06:00.000Z',
    ]);
  });

  it('runs a deleted cron no more', async () => {
    const clock = movableClock('2031-05-06T10:00:59.000Z');
    const { skein } = await env.client({ engine: { clock, timerRecheckMs: 100 } });
    const job = skein.task({ name: 'minutely', fn: () => 1 });
    const doomed = await job.createCron('doomed', '* * * * *');
    const kept = await job.createCron('kept', '* * * * *');
    await skein.crons.delete(doomed.id);
    await waitForTicks(skein, kept.id, ['2031-05-06T10:01:00.000Z']);
    expect(await ticksOf(skein, doomed.id)).toEqual([]);
  });

  it('runs declared onCrons on a worker; registering them again does not duplicate them', async () => {
    const clock = movableClock('2031-05-06T11:59:58.500Z');
    const { skein, newClient } = await env.client({ engine: { clock, timerRecheckMs: 100 } });
    const declare = (client: Skein) =>
      client.task({
        name: 'noon',
        onCrons: ['0 12 * * *', '@daily'],
        fn: (input, ctx) => ({ input, cron: ctx.additionalMetadata.skein__cron_name }),
      });
    await (await skein.worker('w1', { workflows: [declare(skein)] })).start();
    const other = newClient();
    await (await other.worker('w2', { workflows: [declare(other)] })).start();

    const crons = await skein.crons.list();
    expect(crons.map((c) => [c.name, c.declarative]).sort()).toEqual([
      ['0 12 * * *', true],
      ['@daily', true],
    ]);
    const noon = crons.find((c) => c.name === '0 12 * * *')!;
    const ran = await vi.waitFor(
      async () => {
        const [run] = await skein.runs.list({ additionalMetadata: { skein__cron_id: noon.id } });
        expect(run?.status).toBe('COMPLETED');
        return run;
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(ran.output).toEqual({ input: {}, cron: '0 12 * * *' });
    expect(await skein.runs.list({ name: 'noon' })).toHaveLength(1);
  });

  it('deletes a declared cron that a newly started worker no longer declares', async () => {
    const { skein, newClient } = await env.client();
    const v1 = skein.task({ name: 'report', onCrons: ['0 1 * * *', '0 2 * * *'], fn: () => 1 });
    await (await skein.worker('v1', { workflows: [v1] })).start();
    const manual = await v1.createCron('manual', '0 5 * * *');
    const other = newClient();
    const v2 = other.task({ name: 'report', onCrons: ['0 2 * * *'], fn: () => 2 });
    await (await other.worker('v2', { workflows: [v2] })).start();
    expect((await skein.crons.list()).map((c) => c.name).sort()).toEqual(['0 2 * * *', 'manual']);
    expect((await skein.crons.list()).find((c) => c.name === 'manual')?.id).toBe(manual.id);
  });

  it(
    'keeps its next tick across an engine stop and a nats-server restart',
    { timeout: 60_000 },
    async () => {
      const clock = movableClock('2031-05-06T10:00:58.000Z');
      const engine = { clock, timerRecheckMs: 100 };
      const { skein, engine: first, startEngine } = await env.client({ engine });
      const job = skein.task({ name: 'minutely', fn: () => 1 });
      const cron = await job.createCron('every-minute', '* * * * *');
      await first.stop();
      await env.nats.restart();
      await startEngine(engine);
      // A query sent while the client reconnects can go unanswered (10 s): allow for one.
      await waitForTicks(skein, cron.id, ['2031-05-06T10:01:00.000Z'], 25_000);
    },
  );
});
