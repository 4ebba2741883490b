/** Runs and task runs with concurrency limits: they ask their groups for slots, and give them back. */
import { describe, expect, it } from 'vitest';
import { deciderSpec } from '../testing/decider-spec.js';
import { runActor, type RunEvent, type RunMessage } from './index.js';
import type { RunSpec } from './spec.js';
import { aTask } from './fixtures.js';

const RUN = 'run-c';
const task = aTask;
const perUser = { expression: 'input.user', maxRuns: 2, strategy: 'GROUP_ROUND_ROBIN' as const };
const perTenant = {
  expression: "additionalMetadata.tenant + '-x'",
  maxRuns: 5,
  strategy: 'CANCEL_NEWEST' as const,
};
const trigger = (spec: RunSpec, input: unknown = { user: 'ann' }): RunMessage => ({
  type: 'Trigger',
  id: 'trigger',
  runId: RUN,
  spec,
  input,
  additionalMetadata: { tenant: 't1' },
  priority: 1,
});
const triggered = (spec: RunSpec): RunEvent => {
  const {
    type: _t,
    id: _i,
    ...creation
  } = trigger(spec) as Extract<RunMessage, { type: 'Trigger' }>;
  return { type: 'RunTriggered', ...creation, at: 0 };
};
const granted = (groupId: string, holder = `${RUN}#0`): RunMessage => ({
  type: 'ConcurrencyGranted',
  id: `granted:${groupId}`,
  groupId,
  holder,
});
const sends = (effects: { type: string }[]) =>
  effects.flatMap((e) =>
    e.type === 'send'
      ? [
          (e as unknown as { to: { id: string }; message: { type: string } }).message.type +
            ' ' +
            (e as unknown as { to: { id: string } }).to.id,
        ]
      : [],
  );

const spec = deciderSpec(runActor, RUN);
const taskRun: RunSpec = {
  name: 'greet',
  kind: 'task',
  tasks: [task('greet')],
  concurrency: [perUser, perTenant],
};

describe('a run with concurrency limits', () => {
  it('asks its groups for slots one after another, keyed by its input and metadata, then queues', () => {
    const first = spec.when(trigger(taskRun), 10).thenMatches(({ events, effects }) => {
      expect(events.map((e) => e.type)).toEqual(['RunTriggered', 'AdmissionRequested']);
      expect(sends(effects)).toEqual(['Acquire greet|0|ann']);
    });
    const second = spec
      .given(first.events)
      .when(granted('greet|0|ann'), 11)
      .thenMatches(({ effects }) => expect(sends(effects)).toEqual(['Acquire greet|1|t1-x']));
    spec
      .given([...first.events, ...second.events])
      .when(granted('greet|1|t1-x'), 12)
      .thenMatches(({ events }) =>
        expect(events.map((e) => e.type)).toEqual(['AdmissionGranted', 'TaskQueued']),
      );
  });

  it('names a group whose key is long by a hash, short enough for a subject', () => {
    const long = 'u'.repeat(300);
    spec.when(trigger(taskRun, { user: long }), 10).thenMatches(({ effects }) => {
      const [acquire] = sends(effects);
      const groupId = acquire.slice('Acquire '.length);
      expect(groupId).toMatch(/^h-[0-9a-f]+$/);
      expect(groupId.length).toBeLessThanOrEqual(255);
    });
  });

  it('gives its slots (and its place in line) back when it ends', () => {
    const first = spec.when(trigger(taskRun), 10).thenMatches(() => undefined);
    const second = spec
      .given(first.events)
      .when(granted('greet|0|ann'), 11)
      .thenMatches(() => undefined);
    spec
      .given([...first.events, ...second.events])
      .when({ type: 'Cancel', id: 'c', reason: 'by user' }, 12)
      .thenMatches(({ events, effects }) => {
        expect(events.map((e) => e.type)).toContain('AdmissionReleased');
        expect(sends(effects)).toEqual(['Release greet|0|ann', 'Release greet|1|t1-x']);
      });
  });

  it('gives its slots back before its last event, so RunCompleted ends its history', () => {
    const first = spec.when(trigger(taskRun), 10).thenMatches(() => undefined);
    const second = spec
      .given(first.events)
      .when(granted('greet|0|ann'), 11)
      .thenMatches(() => undefined);
    const third = spec
      .given([...first.events, ...second.events])
      .when(granted('greet|1|t1-x'), 12)
      .thenMatches(() => undefined);
    spec
      .given([...first.events, ...second.events, ...third.events])
      .when(
        {
          type: 'TaskResult',
          id: 'r',
          key: `${RUN}:greet:0.1`,
          taskName: 'greet',
          workerId: 'w',
          startedAt: 13,
          finishedAt: 14,
          output: 'hi',
        },
        15,
      )
      .thenMatches(({ events, effects }) => {
        expect(events.map((e) => e.type)).toEqual([
          'TaskStarted',
          'TaskSucceeded',
          'AdmissionReleased',
          'RunCompleted',
        ]);
        expect(sends(effects)).toEqual(['Release greet|0|ann', 'Release greet|1|t1-x']);
      });
  });

  describe('whose input its concurrency expression cannot key (a run triggered by an event)', () => {
    const wf: RunSpec = {
      name: 'wf',
      kind: 'workflow',
      tasks: [
        task('a'),
        task('b'),
        task('c', { parents: ['a'] }),
        task('alert', { role: 'onFailure' }),
      ],
      concurrency: [perUser],
    };
    const byEvent = { ...trigger(wf, { nobody: true }), unparsedInput: true } as RunMessage;
    const invalid = {
      name: 'ValidationError',
      message: "input of 'wf' is invalid: user: Required",
      nonRetryable: true,
      invalidInput: true,
    };
    const failedA: RunMessage = {
      type: 'TaskResult',
      id: 'r-a',
      key: `${RUN}:a:0.1`,
      taskName: 'a',
      workerId: 'w',
      startedAt: 11,
      finishedAt: 12,
      error: invalid,
    };

    it('asks no slot: its first task goes to a worker, which checks the input and fails it', () => {
      spec.when(byEvent, 10).thenMatches(({ events, effects, after }) => {
        expect(events.map((e) => [e.type, 'taskName' in e ? e.taskName : undefined])).toEqual([
          ['RunTriggered', undefined],
          ['TaskCancelled', 'b'],
          ['TaskCancelled', 'c'],
          ['TaskQueued', 'a'],
        ]);
        expect(sends(effects)).toEqual([]);
        const queued = effects.flatMap((e) => (e.type === 'enqueue' ? [e.task] : []));
        expect(queued.map((t) => [t.taskName, t.unparsedInput])).toEqual([['a', true]]);
        expect(queued[0].placementError).toMatch(/concurrency expression of 'wf' failed/);
        expect(after.status).toBe('QUEUED');
      });
    });

    it("then runs onFailure with the raw input and the validator's message, and fails with it", () => {
      const first = spec.when(byEvent, 10).thenMatches(() => undefined);
      const second = spec
        .given(first.events)
        .when(failedA, 13)
        .thenMatches(({ effects, after }) => {
          const queued = effects.flatMap((e) => (e.type === 'enqueue' ? [e.task] : []));
          expect(queued).toHaveLength(1);
          expect(queued[0]).toMatchObject({
            taskName: 'alert',
            input: { nobody: true },
            taskRunErrors: { a: "ValidationError: input of 'wf' is invalid: user: Required" },
          });
          expect(queued[0].unparsedInput).toBeUndefined();
          expect(after.status).toBe('RUNNING');
        });
      spec
        .given([...first.events, ...second.events])
        .when(
          {
            ...failedA,
            id: 'r-alert',
            key: `${RUN}:alert:0.1`,
            taskName: 'alert',
            error: undefined,
            output: 'paged',
          } as RunMessage,
          14,
        )
        .thenMatches(({ events, after }) => {
          expect(events.at(-1)).toEqual({
            type: 'RunFailed',
            errors: { a: "ValidationError: input of 'wf' is invalid: user: Required" },
            errorClass: 'ValidationError',
            at: 14,
          });
          expect(after.tasks.alert.status).toBe('COMPLETED');
        });
    });
  });

  it('limits a workflow task on its own: it waits for its slot after its parents', () => {
    const wf: RunSpec = {
      name: 'wf',
      kind: 'workflow',
      tasks: [task('a'), task('b', { parents: ['a'], concurrency: [perUser] })],
    };
    const result: RunMessage = {
      type: 'TaskResult',
      id: 'r-a',
      key: `${RUN}:a:0.1`,
      taskName: 'a',
      workerId: 'w',
      startedAt: 1,
      finishedAt: 2,
      output: 1,
    };
    const given = [
      triggered(wf),
      { type: 'TaskQueued', taskName: 'a', key: `${RUN}:a:0.1`, attempt: 1, at: 0 } as RunEvent,
    ];
    spec
      .given(given)
      .when(result, 20)
      .thenMatches(({ effects, after }) => {
        expect(sends(effects)).toEqual(['Acquire wf/b|0|ann']);
        expect(after.tasks.b.status).toBe('QUEUED');
        expect(effects.some((e) => e.type === 'enqueue')).toBe(false);
      });
  });
});
