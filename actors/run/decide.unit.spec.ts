/** The run actor from trigger to result: queueing, outcomes, retries and backoff. */
import { describe, expect, it } from 'vitest';
import type { Effect } from '../effects.js';
import { deciderSpec } from '../testing/decider-spec.js';
import type { QueuedTask } from '../scheduler/queued-task.js';
import type { RunEvent } from './events.js';
import { runActor } from './index.js';
import type { RunMessage, TaskError } from './messages.js';
import type { RunSpec, TaskSpec } from './spec.js';

const RUN = 'run-1';
const NOTIFY = '_INBOX.client.7';
const spec = deciderSpec(runActor, RUN);

const greet = (over: Partial<TaskSpec> = {}): TaskSpec => ({
  name: 'greet',
  retries: 2,
  executionTimeoutMs: 30_000,
  scheduleTimeoutMs: 120_000,
  ...over,
});
const single = (task: TaskSpec = greet()): RunSpec => ({
  name: 'greet',
  kind: 'task',
  tasks: [task],
});
const key = (attempt: number, task = 'greet', generation = 0) =>
  `${RUN}:${task}:${generation}.${attempt}`;

const trigger = (runSpec = single()): Extract<RunMessage, { type: 'Trigger' }> => ({
  type: 'Trigger',
  id: 'trigger-1',
  runId: RUN,
  spec: runSpec,
  input: { name: 'Alice' },
  additionalMetadata: { team: 'growth' },
  priority: 2,
  notify: NOTIFY,
});
const triggered = (runSpec = single(), at = 1_000): RunEvent => {
  const { type: _type, id: _id, ...rest } = trigger(runSpec);
  return { type: 'RunTriggered', ...rest, at };
};
const queued = (attempt: number, at = 1_000, task = 'greet'): RunEvent => ({
  type: 'TaskQueued',
  taskName: task,
  key: key(attempt, task),
  attempt,
  at,
});
const enqueue = (task: TaskSpec, attempt: number, at: number, workflowName = 'greet') => ({
  type: 'enqueue' as const,
  task: {
    key: key(attempt, task.name),
    runId: RUN,
    workflowName,
    taskName: task.name,
    attempt,
    maxAttempts: task.retries + 1,
    priority: 2,
    enqueuedAt: at,
    scheduleTimeoutMs: task.scheduleTimeoutMs,
    executionTimeoutMs: task.executionTimeoutMs,
    input: { name: 'Alice' },
    additionalMetadata: { team: 'growth' },
  } satisfies QueuedTask,
});

const boom: TaskError = { name: 'Error', message: 'boom' };
const result = (
  attempt: number,
  outcome: { output?: unknown; error?: TaskError },
  task = 'greet',
): RunMessage => ({
  type: 'TaskResult',
  id: `result:${key(attempt, task)}`,
  key: key(attempt, task),
  taskName: task,
  workerId: 'w1',
  startedAt: 2_000,
  finishedAt: 2_500,
  ...outcome,
});
const started = (attempt: number, task = 'greet'): RunEvent => ({
  type: 'TaskStarted',
  taskName: task,
  key: key(attempt, task),
  attempt,
  workerId: 'w1',
  at: 2_000,
});
const failed = (attempt: number, final: boolean, error = boom): RunEvent => ({
  type: 'TaskFailed',
  taskName: 'greet',
  key: key(attempt),
  error,
  final,
  at: 2_500,
});
const retryScheduled = (attempt: number, dueAt: number): RunEvent => ({
  type: 'RetryScheduled',
  taskName: 'greet',
  key: key(attempt),
  attempt,
  dueAt,
});
const retryDue = (attempt: number): RunMessage => ({
  type: 'RetryDue',
  id: `retry:${key(attempt)}`,
  key: key(attempt),
  taskName: 'greet',
});

describe('run actor: Trigger', () => {
  it('records the run and queues attempt 1 of its task with the task’s limits', () => {
    spec
      .when(trigger(), 1_000)
      .then(
        [
          triggered(),
          { type: 'TaskQueued', taskName: 'greet', key: 'run-1:greet:0.1', attempt: 1, at: 1_000 },
        ],
        [enqueue(greet(), 1, 1_000)],
      );
  });

  it('queues every task of a workflow, each with its own limits', () => {
    const a = greet({ name: 'a', retries: 0, scheduleTimeoutMs: 5_000 });
    const b = greet({ name: 'b', retries: 4, executionTimeoutMs: 90_000 });
    const wf: RunSpec = { name: 'pipeline', kind: 'workflow', tasks: [a, b] };
    spec
      .when(trigger(wf), 1_000)
      .then(
        [triggered(wf), queued(1, 1_000, 'a'), queued(1, 1_000, 'b')],
        [enqueue(a, 1, 1_000, 'pipeline'), enqueue(b, 1, 1_000, 'pipeline')],
      );
  });

  it('a second Trigger for an existing run changes nothing', () => {
    spec
      .given([triggered(), queued(1)])
      .when({ ...trigger(), id: 'trigger-2', input: { name: 'Bob' } }, 5_000)
      .thenNothing();
  });
});

describe('run actor: TaskResult', () => {
  it('a success completes the run with the task’s output and tells the waiting client', () => {
    const outcome = spec
      .given([triggered(), queued(1)])
      .when(result(1, { output: { message: 'hi Alice' } }), 2_600)
      .then(
        [
          started(1),
          {
            type: 'TaskSucceeded',
            taskName: 'greet',
            key: key(1),
            output: { message: 'hi Alice' },
            at: 2_500,
          },
          { type: 'RunCompleted', output: { message: 'hi Alice' }, at: 2_600 },
        ],
        [
          {
            type: 'runFinished',
            result: { runId: RUN, status: 'COMPLETED', output: { message: 'hi Alice' } },
            notify: NOTIFY,
          },
        ],
      );
    expect(runActor.summarize?.(outcome.after)).toMatchObject({
      status: 'COMPLETED',
      finishedAt: 2_600,
    });
    expect(runActor.isDone?.(outcome.after)).toBe(true);
  });

  it('a workflow completes only when its last task succeeds, with outputs by task name', () => {
    const wf: RunSpec = {
      name: 'pipeline',
      kind: 'workflow',
      tasks: [greet({ name: 'a' }), greet({ name: 'b' })],
    };
    const given = [triggered(wf), queued(1, 1_000, 'a'), queued(1, 1_000, 'b')];
    spec
      .given(given)
      .when(result(1, { output: 1 }, 'a'), 3_000)
      .thenMatches(({ events, effects }) => {
        expect(events.map((e) => e.type)).toEqual(['TaskStarted', 'TaskSucceeded']);
        expect(effects).toEqual([]);
      });
    const aDone: RunEvent[] = [
      started(1, 'a'),
      { type: 'TaskSucceeded', taskName: 'a', key: key(1, 'a'), output: 1, at: 2_500 },
    ];
    spec
      .given([...given, ...aDone])
      .when(result(1, { output: 2 }, 'b'), 3_000)
      .thenMatches(({ events, effects }) => {
        expect(events.at(-1)).toEqual({ type: 'RunCompleted', output: { a: 1, b: 2 }, at: 3_000 });
        expect(effects).toEqual([
          {
            type: 'runFinished',
            result: { runId: RUN, status: 'COMPLETED', output: { a: 1, b: 2 } },
            notify: NOTIFY,
          },
        ]);
      });
  });

  it('ignores a result for another attempt than the live one', () => {
    spec
      .given([triggered(), queued(1)])
      .when(result(2, { output: 'late' }), 3_000)
      .thenNothing();
    spec
      .given([triggered(), queued(1)])
      .when(result(1, { output: 'x' }, 'unknown-task'), 3_000)
      .thenNothing();
  });

  it('ignores a result after the run ended, and for a run that does not exist', () => {
    const ended: RunEvent[] = [
      triggered(),
      queued(1),
      { type: 'RunCancelled', reason: 'user', at: 1_500 },
    ];
    spec
      .given(ended)
      .when(result(1, { output: 'late' }), 3_000)
      .thenNothing();
    spec.when(result(1, { output: 'x' }), 3_000).thenNothing();
  });
});

describe('run actor: failures and retries', () => {
  it('a failure with retries left and no backoff queues attempt 2 at once under a new key', () => {
    spec
      .given([triggered(), queued(1)])
      .when(result(1, { error: boom }), 3_000)
      .then([started(1), failed(1, false), queued(2, 3_000)], [enqueue(greet(), 2, 3_000)]);
  });

  it('with backoff, schedules the retry factor^n seconds later, capped at maxSeconds', () => {
    const backoff = greet({ retries: 3, backoff: { factor: 3, maxSeconds: 5 } });
    const timer = (attempt: number, dueAt: number): Effect => ({
      type: 'startTimer',
      timerId: `retry:${key(attempt)}`,
      dueAt,
      to: { type: 'run', id: RUN },
      message: {
        type: 'RetryDue',
        id: `retry:${key(attempt)}`,
        key: key(attempt),
        taskName: 'greet',
      },
    });
    spec
      .given([triggered(single(backoff)), queued(1)])
      .when(result(1, { error: boom }), 3_000)
      .then([started(1), failed(1, false), retryScheduled(2, 6_000)], [timer(2, 6_000)]);
    // retry 2 would wait 3^2 = 9 s: capped at 5 s
    spec
      .given([
        triggered(single(backoff)),
        queued(1),
        failed(1, false),
        retryScheduled(2, 6_000),
        queued(2, 6_000),
      ])
      .when(result(2, { error: boom }), 7_000)
      .then([started(2), failed(2, false), retryScheduled(3, 12_000)], [timer(3, 12_000)]);
  });

  it('a result for the failed attempt while its retry waits changes nothing', () => {
    const retrying = [triggered(), queued(1), failed(1, false), retryScheduled(2, 6_000)];
    spec
      .given(retrying)
      .when(result(1, { output: 'late' }), 4_000)
      .thenNothing();
    spec
      .given(retrying)
      .when(result(2, { output: 'early' }), 4_000)
      .thenNothing();
  });

  it('RetryDue queues the scheduled attempt', () => {
    spec
      .given([triggered(), queued(1), failed(1, false), retryScheduled(2, 6_000)])
      .when(retryDue(2), 6_010)
      .then([queued(2, 6_010)], [enqueue(greet(), 2, 6_010)]);
  });

  it('every attempt of a run triggered in a span carries its trace context and link', () => {
    const trace = { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` };
    const traceLink = {
      traceparent: `00-${'c'.repeat(32)}-${'d'.repeat(16)}-00`,
      tracestate: 'x=1',
    };
    const traced: RunEvent = {
      ...(triggered() as Extract<RunEvent, { type: 'RunTriggered' }>),
      trace,
      traceLink,
    };
    spec
      .given([traced, queued(1), failed(1, false), retryScheduled(2, 6_000)])
      .when(retryDue(2), 6_010)
      .then(
        [queued(2, 6_010)],
        [{ type: 'enqueue', task: { ...enqueue(greet(), 2, 6_010).task, trace, traceLink } }],
      );
  });

  it('RetryDue for a stale key, a second time, or after the run ended changes nothing', () => {
    const retrying = [triggered(), queued(1), failed(1, false), retryScheduled(2, 6_000)];
    spec.given(retrying).when(retryDue(3), 6_010).thenNothing();
    spec
      .given([...retrying, queued(2, 6_010)])
      .when(retryDue(2), 6_020)
      .thenNothing();
    const cancelled: RunEvent[] = [
      { type: 'TaskCancelled', taskName: 'greet', reason: 'user', at: 5_000 },
      { type: 'RunCancelled', reason: 'user', at: 5_000 },
    ];
    spec
      .given([...retrying, ...cancelled])
      .when(retryDue(2), 6_010)
      .thenNothing();
  });

  it('the last attempt’s failure fails the run with the error by task name', () => {
    spec
      .given([
        triggered(single(greet({ retries: 1 }))),
        queued(1),
        failed(1, false),
        queued(2, 3_000),
      ])
      .when(result(2, { error: { name: 'Error', message: 'boom again' } }), 4_000)
      .then(
        [
          started(2),
          failed(2, true, { name: 'Error', message: 'boom again' }),
          {
            type: 'RunFailed',
            errors: { greet: 'Error: boom again' },
            errorClass: 'Error',
            at: 4_000,
          },
        ],
        [
          {
            type: 'runFinished',
            result: { runId: RUN, status: 'FAILED', errors: { greet: 'Error: boom again' } },
            notify: NOTIFY,
          },
        ],
      );
  });

  it('a task without retries fails the run on its first failure', () => {
    spec
      .given([triggered(single(greet({ retries: 0 }))), queued(1)])
      .when(result(1, { error: boom }), 3_000)
      .thenMatches(({ events, after }) => {
        expect(events.map((e) => e.type)).toEqual(['TaskStarted', 'TaskFailed', 'RunFailed']);
        expect(after.status).toBe('FAILED');
      });
  });

  it('a NonRetryable error fails the run at once although retries are left', () => {
    const fatal: TaskError = { name: 'NonRetryableError', message: 'bad card', nonRetryable: true };
    spec
      .given([triggered(single(greet({ retries: 5, backoff: { factor: 2 } }))), queued(1)])
      .when(result(1, { error: fatal }), 3_000)
      .then(
        [
          started(1),
          failed(1, true, fatal),
          {
            type: 'RunFailed',
            errors: { greet: 'NonRetryableError: bad card' },
            errorClass: 'NonRetryableError',
            at: 3_000,
          },
        ],
        [
          {
            type: 'runFinished',
            result: {
              runId: RUN,
              status: 'FAILED',
              errors: { greet: 'NonRetryableError: bad card' },
            },
            notify: NOTIFY,
          },
        ],
      );
  });

  it('a run whose input fails its validator cancels its other unfinished tasks', () => {
    const wf: RunSpec = {
      name: 'pipeline',
      kind: 'workflow',
      tasks: [greet({ name: 'a', retries: 0 }), greet({ name: 'b' })],
    };
    const invalid: TaskError = {
      name: 'ValidationError',
      message: "input of 'pipeline' is invalid: name: Required",
      nonRetryable: true,
      invalidInput: true,
    };
    spec
      .given([triggered(wf), queued(1, 1_000, 'a'), queued(1, 1_000, 'b')])
      .when(result(1, { error: invalid }, 'a'), 3_000)
      .thenMatches(({ events, effects, after }) => {
        expect(events.map((e) => e.type)).toContain('RunFailed');
        expect(after.errors).toEqual({
          a: "ValidationError: input of 'pipeline' is invalid: name: Required",
        });
        expect(after.tasks.b.status).toBe('CANCELLED');
        expect(effects).toContainEqual({
          type: 'abortTask',
          key: key(1, 'b'),
          reason: "the run's input is invalid",
        });
      });
  });
});
