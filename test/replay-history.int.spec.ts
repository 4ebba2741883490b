/**
 * replayHistory against histories recorded here: the same code replays them cleanly, changed
 * code is caught. Set SKEIN_RECORD_HISTORIES=1 to refresh the fixtures that
 * replay-fixtures.unit.spec.ts replays without NATS.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayHistory, Skein, ValidationError } from 'skein';
import { durableExamples } from '../examples/durable.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';
import { waitForHistory } from './support/history.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

const fixture = (name: string) => new URL(`./fixtures/histories/${name}.json`, import.meta.url);

describe('replayHistory', () => {
  it('replays a finished run with the same code, and names the first divergence of changed code', async () => {
    const { skein } = await env.client();
    const { expense } = durableExamples(skein, { decisionTimeout: '300ms' });
    await (await skein.worker('w', { workflows: [expense] })).start();
    const ref = await expense.runNoWait({ expenseId: 'e-7', amount: 12 });
    await ref.result();
    const history = await skein.runs.history(ref.runId);
    if (process.env.SKEIN_RECORD_HISTORIES)
      writeFileSync(fixture('expense-escalated'), JSON.stringify(history, null, 2) + '\n');

    const same = await replayHistory(expense, history);
    expect(same).toMatchObject({ ok: true, outcome: 'completed', recorded: 2, replayed: 2 });
    expect(same.output).toMatchObject({ status: 'escalated' });

    // The same task name, with a memo added before the wait: a deploy that would break runs.
    const offline = Skein.init({ natsUrl: 'nats://127.0.0.1:1' });
    const changed = offline.durableTask({
      name: 'expense-approval',
      fn: async (_input, ctx) => {
        await ctx.now();
        await ctx.memo(function lookUpManager() {
          return 'm-1';
        });
        return ctx.waitForEvent('expense:decided');
      },
    });
    const report = await replayHistory(changed, history);
    expect(report.outcome).toBe('diverged');
    expect(report.ok).toBe(false);
    expect(report.error?.name).toBe('NonDeterminismError');
    expect(report.error?.message).toMatch(/position 1/);
    expect(report.error?.message).toMatch(/waitFor\(sleep\|event:expense:decided\)/);
    expect(report.error?.message).toMatch(/memo\(lookUpManager/);
  });

  it('replays a run still waiting: the code reaches the end of its history', async () => {
    const { skein } = await env.client();
    const { approval } = durableExamples(skein, { sleep: '200ms' });
    await (await skein.worker('w', { workflows: [approval] })).start();
    const ref = await approval.runNoWait({});
    await waitForHistory(skein, ref.runId, 'DurableWaitStarted', { count: 2 });
    const report = await replayHistory(approval, await skein.runs.history(ref.runId));
    expect(report).toMatchObject({ ok: true, outcome: 'waiting', recorded: 1, replayed: 1 });
    await skein.events.push('user:approved', { user_id: 'zed' });
    await ref.result();
    const history = await skein.runs.history(ref.runId);
    if (process.env.SKEIN_RECORD_HISTORIES)
      writeFileSync(fixture('approval-approved'), JSON.stringify(history, null, 2) + '\n');
    expect(await replayHistory(approval, history)).toMatchObject({
      outcome: 'completed',
      output: { approved_by: 'zed' },
    });
  });

  it("takes a workflow's durable task handle, as it takes a standalone durable task", async () => {
    const { skein } = await env.client();
    const wf = skein.workflow({ name: 'order' });
    const validate = wf.task({ name: 'validate', fn: () => ({ total: 12 }) });
    const approve = wf.durableTask({
      name: 'approve',
      parents: [validate],
      fn: async (_input, ctx) => {
        const at = await ctx.now();
        await ctx.sleepFor('50ms');
        return { total: ctx.parentOutput(validate).total, at: at.getTime() };
      },
    });
    const ship = wf.durableTask({
      name: 'ship',
      parents: [approve],
      fn: async (_input, ctx) => ctx.uuid(),
    });
    await (await skein.worker('w', { workflows: [wf] })).start();
    const ref = await wf.runNoWait({});
    const out = await ref.result();
    const history = await skein.runs.history(ref.runId);

    const report = await replayHistory(approve, history);
    expect(report).toMatchObject({ ok: true, outcome: 'completed', recorded: 2, replayed: 2 });
    expect(report.output).toEqual(out.approve);
    expect(await replayHistory(ship, history)).toMatchObject({
      taskName: 'ship',
      outcome: 'completed',
      output: out.ship,
    });
    await expect(replayHistory(validate as never, history)).rejects.toThrow(ValidationError);
    // A handle names its task: asking for another one through it is a mistake.
    await expect(replayHistory(ship, history, { taskName: 'approve' })).rejects.toThrow(/'ship'/);
  });
});
