/** The run actor running a workflow: a DAG of tasks, then onFailure / onSuccess. */
import { describe, expect, it } from 'vitest';
import type { QueuedTask } from '../scheduler/queued-task.js';
import { runActor, type RunMessage, type RunState } from './index.js';
import type { TaskSpec } from './spec.js';
import { aTask } from './fixtures.js';

const RUN = 'wf-1';
const task = aTask;

/** Plays messages into a fresh run; returns the state and the tasks each message queued. */
function play(tasks: TaskSpec[], messages: RunMessage[]) {
  let state: RunState = runActor.initial(RUN);
  const queuedBy: QueuedTask[][] = [];
  const trigger: RunMessage = {
    type: 'Trigger',
    id: 'trigger',
    runId: RUN,
    spec: { name: 'wf', kind: 'workflow', tasks },
    input: { n: 1 },
    additionalMetadata: {},
    priority: 1,
  };
  for (const [i, message] of [trigger, ...messages].entries()) {
    const d = runActor.decide(state, message, 1000 + i);
    for (const e of d.events) state = runActor.evolve(state, e);
    queuedBy.push(d.effects.flatMap((fx) => (fx.type === 'enqueue' ? [fx.task] : [])));
  }
  return { state, queuedBy };
}

const ok = (name: string, output: unknown, attempt = 1): RunMessage => ({
  type: 'TaskResult',
  id: `result:${name}`,
  key: `${RUN}:${name}:0.${attempt}`,
  taskName: name,
  workerId: 'w',
  startedAt: 1,
  finishedAt: 2,
  output,
});
const fail = (name: string, message: string): RunMessage => ({
  ...(ok(name, null) as Extract<RunMessage, { type: 'TaskResult' }>),
  output: undefined,
  error: { name: 'Error', message },
});

const names = (q: QueuedTask[]) => q.map((t) => t.taskName);

describe('a workflow run', () => {
  const diamond = [
    task('a'),
    task('b', { parents: ['a'] }),
    task('c', { parents: ['a'] }),
    task('d', { parents: ['b', 'c'] }),
  ];

  it('queues roots first, then each task once all its parents succeeded, with their outputs', () => {
    const { state, queuedBy } = play(diamond, [ok('a', 10), ok('b', 20), ok('c', 30), ok('d', 60)]);
    expect(queuedBy.map(names)).toEqual([['a'], ['b', 'c'], [], ['d'], []]);
    expect(queuedBy[3][0].parentOutputs).toEqual({ b: 20, c: 30 });
    expect(state.status).toBe('COMPLETED');
    expect(state.output).toEqual({ a: 10, b: 20, c: 30, d: 60 });
  });

  it('stops what depends on a task that failed for good, lets independent tasks finish, then fails', () => {
    const { state, queuedBy } = play(diamond, [ok('a', 10), fail('b', 'boom')]);
    expect(queuedBy.map(names)).toEqual([['a'], ['b', 'c'], []]);
    expect(state.status).toBe('RUNNING');
    expect(state.tasks.c.status).toBe('QUEUED');
    expect(state.tasks.d.status).toBe('CANCELLED');
    const after = play(diamond, [ok('a', 10), fail('b', 'boom'), ok('c', 30)]).state;
    expect(after.status).toBe('FAILED');
    expect(after.errors).toEqual({ b: 'Error: boom' });
    expect(after.errorClass).toBe('Error');
    expect(after.tasks.c).toMatchObject({ status: 'COMPLETED', output: 30 });
  });

  it('retries an independent task after another failed for good', () => {
    const tasks = [task('a'), task('b', { retries: 1 }), task('handler', { role: 'onFailure' })];
    const { state, queuedBy } = play(tasks, [
      fail('a', 'down'),
      fail('b', 'flaky'),
      ok('b', 'second time', 2),
      ok('handler', 'alerted'),
    ]);
    expect(queuedBy.map(names)).toEqual([['a', 'b'], [], ['b'], ['handler'], []]);
    expect(state.tasks.b).toMatchObject({ status: 'COMPLETED', attempt: 2 });
    expect(state.status).toBe('FAILED');
    expect(state.errors).toEqual({ a: 'Error: down' });
  });

  it('once a task failed for good, a schedule timeout cancels only its task: onFailure runs, the run fails', () => {
    const tasks = [task('a'), task('b'), task('handler', { role: 'onFailure' })];
    const timedOut: RunMessage = {
      type: 'ScheduleTimedOut',
      id: 'timeout:b',
      key: `${RUN}:b:0.1`,
      taskName: 'b',
    };
    const { state, queuedBy } = play(tasks, [fail('a', 'down'), timedOut, ok('handler', 'paged')]);
    expect(queuedBy.map(names)).toEqual([['a', 'b'], [], ['handler'], []]);
    expect(state.tasks.b.status).toBe('CANCELLED');
    expect(state.status).toBe('FAILED');
    expect(state.errors).toEqual({ a: 'Error: down' });
  });

  it('names the first failure first, and takes the run’s errorClass from it', () => {
    const tasks = [task('a'), task('b')];
    const typeError = {
      ...(fail('b', 'x is undefined') as Extract<RunMessage, { type: 'TaskResult' }>),
      error: { name: 'TypeError', message: 'x is undefined' },
    };
    const { state } = play(tasks, [typeError, fail('a', 'later')]);
    expect(Object.entries(state.errors!)).toEqual([
      ['b', 'TypeError: x is undefined'],
      ['a', 'Error: later'],
    ]);
    expect(state.errorClass).toBe('TypeError');
  });

  it('runs onFailure once with the task errors, then fails', () => {
    const tasks = [
      task('a'),
      task('b', { parents: ['a'] }),
      task('handler', { role: 'onFailure' }),
    ];
    const { state, queuedBy } = play(tasks, [fail('a', 'bad input'), ok('handler', 'cleaned')]);
    expect(queuedBy.map(names)).toEqual([['a'], ['handler'], []]);
    expect(queuedBy[1][0].taskRunErrors).toEqual({ a: 'Error: bad input' });
    expect(state.status).toBe('FAILED');
    expect(state.tasks.handler.status).toBe('COMPLETED');
    expect(state.tasks.b.status).toBe('CANCELLED');
  });

  it('runs onSuccess after every task succeeded, and leaves it out of the output; onFailure never queued stays pending', () => {
    const tasks = [
      task('a'),
      task('done', { role: 'onSuccess' }),
      task('oops', { role: 'onFailure' }),
    ];
    const { state, queuedBy } = play(tasks, [ok('a', 1), ok('done', 'sent')]);
    expect(queuedBy.map(names)).toEqual([['a'], ['done'], []]);
    expect(state.status).toBe('COMPLETED');
    expect(state.output).toEqual({ a: 1 });
    expect(state.tasks.oops.status).toBe('PENDING');
  });

  it('fails when onSuccess fails', () => {
    const tasks = [task('a'), task('done', { role: 'onSuccess' })];
    const { state } = play(tasks, [ok('a', 1), fail('done', 'mail down')]);
    expect(state.status).toBe('FAILED');
    expect(state.errors).toEqual({ done: 'Error: mail down' });
  });
});

describe('workflow conditions', () => {
  const parentIs = (parent: string, expression?: string, id = 'c1') => ({
    kind: 'parent' as const,
    id,
    parent,
    expression,
  });
  const sleep = (ms: number, id = 's1') => ({ kind: 'sleep' as const, id, ms });

  it('takes the branch whose parent condition holds and skips the other', () => {
    const tasks = [
      task('check'),
      task('big', { parents: ['check'], skipIf: [[parentIs('check', 'output.amount <= 100')]] }),
      task('small', { parents: ['check'], skipIf: [[parentIs('check', 'output.amount > 100')]] }),
      task('after_small', { parents: ['small'] }),
    ];
    const { state, queuedBy } = play(tasks, [ok('check', { amount: 500 }), ok('big', 'approved')]);
    expect(queuedBy.map(names)).toEqual([['check'], ['big'], []]);
    expect(state.tasks.small.status).toBe('SKIPPED');
    expect(state.tasks.after_small.status).toBe('SKIPPED');
    expect(state.status).toBe('COMPLETED');
    expect(state.output).toMatchObject({ big: 'approved', small: { skipped: true } });
  });

  it('runs a task with one skipped parent and one that ran, passing only the output that exists', () => {
    const tasks = [
      task('a'),
      task('maybe', { skipIf: [[parentIs('a', 'output == 1')]], parents: ['a'] }),
      task('join', { parents: ['a', 'maybe'] }),
    ];
    const { queuedBy } = play(tasks, [ok('a', 1)]);
    expect(queuedBy.map(names)).toEqual([['a'], ['join']]);
    expect(queuedBy[1][0].parentOutputs).toEqual({ a: 1 });
  });

  it('holds a task until its sleep elapses (a durable timer), then queues it', () => {
    const tasks = [task('later', { waitFor: [[sleep(5000)]] })];
    const { state, queuedBy } = play(tasks, []);
    expect(queuedBy).toEqual([[]]);
    expect(state.tasks.later.status).toBe('WAITING');
    const d = runActor.decide(
      state,
      { type: 'SleepElapsed', id: 't', taskName: 'later', conditionId: 's1', generation: 0 },
      9000,
    );
    expect(d.effects.filter((fx) => fx.type === 'enqueue')).toHaveLength(1);
  });

  it('starts the sleep timer when the task starts waiting', () => {
    let state: RunState = runActor.initial(RUN);
    const d = runActor.decide(
      state,
      {
        type: 'Trigger',
        id: 't',
        runId: RUN,
        spec: {
          name: 'wf',
          kind: 'workflow',
          tasks: [task('later', { waitFor: [[sleep(5000)]] })],
        },
        input: {},
        additionalMetadata: {},
        priority: 1,
      },
      1000,
    );
    for (const e of d.events) state = runActor.evolve(state, e);
    expect(d.effects).toContainEqual(expect.objectContaining({ type: 'startTimer', dueAt: 6000 }));
  });

  it('cancels the run when a cancelIf condition holds', () => {
    const tasks = [
      task('a'),
      task('b', { parents: ['a'], cancelIf: [[parentIs('a', 'output.fraud')]] }),
    ];
    const { state } = play(tasks, [ok('a', { fraud: true })]);
    expect(state.status).toBe('CANCELLED');
    expect(state.cancelReason).toBe('cancelled by condition');
  });

  it('treats a list as AND and a group as OR', () => {
    const both = [[parentIs('a', 'output > 1', 'x')], [parentIs('a', 'output < 10', 'y')]];
    const either = [[parentIs('a', 'output > 100', 'x'), parentIs('a', 'output == 5', 'y')]];
    const run = (waitFor: ReturnType<typeof parentIs>[][]) =>
      play([task('a'), task('b', { parents: ['a'], waitFor })], [ok('a', 5)]).state.tasks.b.status;
    expect(run(both)).toBe('QUEUED');
    expect(run(either)).toBe('QUEUED');
    expect(run([[parentIs('a', 'output > 100')]])).toBe('SKIPPED');
  });
});
