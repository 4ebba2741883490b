/**
 * The replayer checks each replayed durable call's kind AND key. Every call kind is recorded
 * by running "yesterday's" code, then replayed with code that makes the same kind of call
 * about something else: the replay must stop with NonDeterminismError naming both calls.
 */
import { describe, expect, it } from 'vitest';
import type { QueuedTask } from '../actors/scheduler/queued-task.js';
import { Or, SleepCondition, UserEventCondition } from './conditions.js';
import { Skein } from './client.js';
import { currentRun } from './current-run.js';
import { DurableCalls, type DurableIo } from './durable-calls.js';
import { DurableContextImpl } from './durable-context-impl.js';
import type { DurableContext } from './durable-context.js';
import { NonDeterminismError } from './errors.js';
import { Replayer, type RecordedCall } from './replayer.js';

const task: QueuedTask = {
  key: 'run-1:t:0.1',
  runId: 'run-1',
  workflowName: 't',
  taskName: 't',
  attempt: 1,
  maxAttempts: 1,
  priority: 1,
  enqueuedAt: 0,
  scheduleTimeoutMs: 1000,
  executionTimeoutMs: 1000,
  input: {},
  additionalMetadata: {},
  durable: true,
};

type Code = (ctx: DurableContext) => Promise<unknown>;

/** Runs `code` as a durable task over `history`; `io` records new calls. */
async function execute(history: RecordedCall[], code: Code, io: DurableIo, offline: boolean) {
  const replayer = new Replayer(history, 't', offline);
  const calls = new DurableCalls(replayer, io, 'run-1:t:0', 't');
  const host = {
    workerId: 'w',
    storeLog: () => undefined,
    putStream: () => undefined,
    refreshTimeout: async () => undefined,
    cancelRun: async () => undefined,
  };
  const ctx = new DurableContextImpl(task, host, new AbortController().signal, calls);
  const outcome = await currentRun
    .run({ runId: task.runId, durable: calls }, () => code(ctx))
    .then(
      (output: unknown): { output?: unknown; error?: unknown } => ({ output }),
      (error: unknown): { output?: unknown; error?: unknown } => ({ error }),
    );
  return { ...outcome, replayer };
}

/** The history that `code` records when it first runs (every wait resolves with null). */
async function recordedBy(code: Code): Promise<RecordedCall[]> {
  const history: RecordedCall[] = [];
  const io: DurableIo = {
    record: async ({ kind, callKey, result }) => void history.push({ kind, callKey, result }),
    wait: async ({ kind, callKey }) => {
      history.push({ kind, callKey, result: null });
      return null;
    },
  };
  const { error } = await execute([], code, io, false);
  expect(error).toBeUndefined();
  return history;
}

const noIo: DurableIo = {
  record: async () => expect.fail('a replay of a recorded call records nothing'),
  wait: async () => expect.fail('a replay of a recorded call waits for nothing'),
};

/** Replays `code` over `history`, offline. */
const replay = (history: RecordedCall[], code: Code) => execute(history, code, noIo, true);

async function expectDivergence(history: RecordedCall[], code: Code, recorded: RegExp) {
  const { error, replayer } = await replay(history, code);
  expect(error).toBeInstanceOf(NonDeterminismError);
  expect((error as Error).message).toMatch(/position 0/);
  expect((error as Error).message).toMatch(recorded);
  expect(replayer.diverged).toBe(error);
}

function charge() {
  return 'charged';
}
function refund() {
  return 'refunded';
}

describe('the replayer compares kind and key of every replayed call', () => {
  it('returns the recorded result when kind and key match, and stops at a new key', () => {
    const history: RecordedCall[] = [{ kind: 'waitForEvent', callKey: 'a', result: { ok: 1 } }];
    expect(new Replayer(history, 't').step('waitForEvent', 'a')).toEqual({
      recorded: true,
      position: 0,
      result: { ok: 1 },
    });
    const replayer = new Replayer(history, 't');
    expect(() => replayer.step('waitForEvent', 'b')).toThrow(NonDeterminismError);
    expect(replayer.diverged?.message).toMatch(
      /position 0 the history has waitForEvent\(a\), but the code now calls waitForEvent\(b\)/,
    );
  });

  it('keeps the first divergence even when the code goes on after catching it', () => {
    const replayer = new Replayer(
      [
        { kind: 'memo', callKey: 'x:1', result: 1 },
        { kind: 'memo', callKey: 'y:1', result: 2 },
      ],
      't',
    );
    expect(() => replayer.step('memo', 'other:1')).toThrow(NonDeterminismError);
    const first = replayer.diverged;
    expect(() => replayer.step('memo', 'another:1')).toThrow(NonDeterminismError);
    expect(replayer.diverged).toBe(first);
  });
});

describe('a replayed durable call of the same kind but another key raises NonDeterminismError', () => {
  const cases: { kind: string; before: Code; after: Code; recorded: RegExp }[] = [
    {
      kind: 'sleep (sleepFor, then sleepUntil)',
      before: (ctx) => ctx.sleepFor('1s'),
      after: (ctx) => ctx.sleepUntil(new Date(Date.now() + 1000)),
      recorded: /sleep\(sleepFor\).*sleep\(sleepUntil\)/,
    },
    {
      kind: 'waitForEvent',
      before: (ctx) => ctx.waitForEvent('a'),
      after: (ctx) => ctx.waitForEvent('b'),
      recorded: /waitForEvent\(a\).*waitForEvent\(b\)/,
    },
    {
      kind: 'waitFor (another event key)',
      before: (ctx) => ctx.waitFor(Or(new SleepCondition('10s'), new UserEventCondition('a'))),
      after: (ctx) => ctx.waitFor(Or(new SleepCondition('10s'), new UserEventCondition('b'))),
      recorded: /waitFor\(sleep\|event:a\).*waitFor\(sleep\|event:b\)/,
    },
    {
      kind: 'waitFor (OR became AND)',
      before: (ctx) => ctx.waitFor(Or({ sleepFor: '10s' }, { eventKey: 'a' })),
      after: (ctx) => ctx.waitFor([{ sleepFor: '10s' }, { eventKey: 'a' }]),
      recorded: /waitFor\(sleep\|event:a\).*waitFor\(sleep&event:a\)/,
    },
    {
      kind: 'memo (another function)',
      before: (ctx) => ctx.memo(charge),
      after: (ctx) => ctx.memo(refund),
      recorded: /memo\(charge:.*memo\(refund:/,
    },
    {
      kind: 'memo (other arguments)',
      before: (ctx) => ctx.memo((n: number) => n, 1),
      after: (ctx) => ctx.memo((n: number) => n, 2),
      recorded: /memo\(anonymous:\w+\).*memo\(anonymous:\w+\)/,
    },
  ];
  for (const c of cases) {
    it(c.kind, async () => {
      const history = await recordedBy(c.before);
      expect(history).toHaveLength(1);
      // The same code replays; the changed code stops at position 0.
      expect((await replay(history, c.before)).error).toBeUndefined();
      await expectDivergence(history, c.after, c.recorded);
    });
  }

  it('now and uuid have one key each: only their kind can differ', async () => {
    const history = await recordedBy((ctx) => ctx.now());
    expect(history[0]).toMatchObject({ kind: 'now', callKey: 'now' });
    expect((await recordedBy((ctx) => ctx.uuid()))[0]).toMatchObject({ callKey: 'uuid' });
    await expectDivergence(history, (ctx) => ctx.uuid(), /now\(now\).*uuid\(uuid\)/);
  });

  // Declarations only: a child call that diverges stops before anything is sent.
  const skein = Skein.init({ natsUrl: 'nats://127.0.0.1:1' });
  const kidA = skein.task({ name: 'kid-a', fn: () => 'a' });
  const kidB = skein.task({ name: 'kid-b', fn: () => 'b' });

  it('child (run of another task)', async () => {
    const history: RecordedCall[] = [
      { kind: 'child', callKey: 'kid-a', result: { runId: 'r', status: 'COMPLETED', output: 'a' } },
    ];
    expect((await replay(history, () => kidA.run({}))).output).toBe('a');
    await expectDivergence(history, () => kidB.run({}), /child\(kid-a\).*child\(kid-b\)/);
  });

  it('spawn (runNoWait of another task)', async () => {
    const history: RecordedCall[] = [{ kind: 'spawn', callKey: 'kid-a', result: 'r' }];
    expect((await replay(history, () => kidA.runNoWait({}))).error).toBeUndefined();
    await expectDivergence(history, () => kidB.runNoWait({}), /spawn\(kid-a\).*spawn\(kid-b\)/);
  });

  it('spawn (schedule of another task)', async () => {
    const at = Date.now() + 60_000;
    const history: RecordedCall[] = [
      { kind: 'spawn', callKey: 'kid-a', result: { id: 's1', triggerAt: at } },
    ];
    const replayed = await replay(history, () => kidA.schedule(new Date(), {}));
    expect(replayed.output).toEqual({ id: 's1', triggerAt: new Date(at) });
    await expectDivergence(
      history,
      () => kidB.schedule(new Date(), {}),
      /spawn\(kid-a\).*spawn\(kid-b\)/,
    );
  });

  it('spawn by name (skein.runNoWait of another name)', async () => {
    const history: RecordedCall[] = [{ kind: 'spawn', callKey: 'kid-a', result: 'r' }];
    await expectDivergence(
      history,
      () => skein.runNoWait('kid-b', {}),
      /spawn\(kid-a\).*spawn\(kid-b\)/,
    );
  });
});
