/** The run actor replaying a finished run from one of its tasks, and recording who cancelled or replayed. */
import { describe, expect, it } from 'vitest';
import type { QueuedTask } from '../scheduler/queued-task.js';
import { runActor, type RunEvent, type RunMessage, type RunState } from './index.js';
import type { TaskSpec } from './spec.js';
import { aTask as task } from './fixtures.js';

const RUN = 'wf-7';

/** A run of `tasks` that has handled `messages`: its state, events, and what each message queued. */
function play(tasks: TaskSpec[], messages: RunMessage[], state?: RunState) {
  state ??= runActor.initial(RUN);
  const events: RunEvent[] = [];
  const queuedBy: string[][] = [];
  const trigger: RunMessage = {
    type: 'Trigger',
    id: 'trigger',
    runId: RUN,
    spec: { name: 'wf', kind: 'workflow', tasks },
    input: {},
    additionalMetadata: {},
    priority: 1,
  };
  const parentOutputs: Record<string, unknown> = {};
  for (const [i, message] of [trigger, ...messages].entries()) {
    const d = runActor.decide(state, message, 1000 + i);
    for (const e of d.events) state = runActor.evolve(state, e);
    events.push(...d.events);
    const queued = d.effects.flatMap((fx) => (fx.type === 'enqueue' ? [fx.task] : []));
    for (const t of queued as QueuedTask[]) parentOutputs[t.taskName] = t.parentOutputs;
    queuedBy.push(queued.map((t) => t.taskName));
  }
  return { state, events, queuedBy, parentOutputs };
}

const result = (name: string, generation: number, output?: unknown, error?: string) =>
  ({
    type: 'TaskResult',
    id: `result:${name}:${generation}`,
    key: `${RUN}:${name}:${generation}.1`,
    taskName: name,
    workerId: 'w',
    startedAt: 1,
    finishedAt: 2,
    ...(error ? { error: { name: 'Error', message: error } } : { output }),
  }) satisfies RunMessage;
const replay = (fromTask?: string, by = 'dashboard'): RunMessage => ({
  type: 'Replay',
  id: `replay:${fromTask}`,
  by,
  ...(fromTask && { fromTask }),
});

// a -> b -> d, a -> c
const chain = [
  task('a'),
  task('b', { parents: ['a'] }),
  task('c', { parents: ['a'] }),
  task('d', { parents: ['b'] }),
];
const failedAtB = [result('a', 0, 10), result('c', 0, 30), result('b', 0, undefined, 'boom')];

describe('run actor: Replay from a task', () => {
  it('keeps the outputs of the tasks not downstream of it and runs it and its dependents again', () => {
    const failed = play(chain, failedAtB);
    expect(failed.state.status).toBe('FAILED');
    expect(failed.state.tasks.d.status).toBe('CANCELLED');

    const replayed = play(chain, [replay('b')], failed.state);
    expect(replayed.events[0]).toEqual({
      type: 'RunReplayed',
      by: 'dashboard',
      fromTask: 'b',
      at: 1001,
    });
    // The trigger is ignored (the run exists); the replay queues b alone, with a's kept output.
    expect(replayed.queuedBy).toEqual([[], ['b']]);
    expect(replayed.parentOutputs.b).toEqual({ a: 10 });
    expect(replayed.state.tasks.a).toMatchObject({ status: 'COMPLETED', output: 10 });
    expect(replayed.state.tasks.c).toMatchObject({ status: 'COMPLETED', output: 30 });
    expect(replayed.state.tasks.d.status).toBe('PENDING');

    const done = play(chain, [result('b', 1, 20), result('d', 1, 40)], replayed.state);
    expect(done.queuedBy).toEqual([[], ['d'], []]);
    expect(done.state.status).toBe('COMPLETED');
    expect(done.state.output).toEqual({ a: 10, b: 20, c: 30, d: 40 });
  });

  it('runs again every task that had not succeeded, downstream of it or not', () => {
    const tasks = [task('a'), task('x')];
    const failed = play(tasks, [result('a', 0, 1), result('x', 0, undefined, 'boom')]);
    expect(failed.state.status).toBe('FAILED');
    const replayed = play(tasks, [replay('a')], failed.state);
    expect(replayed.queuedBy[1]).toEqual(['a', 'x']);
  });

  it('from a root task runs everything again, like a plain replay', () => {
    const replayed = play(chain, [replay('a')], play(chain, failedAtB).state);
    expect(replayed.queuedBy[1]).toEqual(['a']);
    expect(Object.values(replayed.state.tasks).map((t) => t.status)).toEqual([
      'QUEUED',
      'PENDING',
      'PENDING',
      'PENDING',
    ]);
  });

  it('ignores a task the run does not have, and a run that has not ended', () => {
    const failed = play(chain, failedAtB).state;
    expect(runActor.decide(failed, replay('nope'), 5_000).events).toEqual([]);
    const running = play(chain, [result('a', 0, 10)]).state;
    expect(runActor.decide(running, replay('b'), 5_000).events).toEqual([]);
  });

  it('records who replayed or cancelled a run, and folds events stored without it', () => {
    const running = play(chain, [result('a', 0, 10)]).state;
    const cancel: RunMessage = { type: 'Cancel', id: 'c', reason: 'cancelled by user', by: 'cli' };
    const cancelled = runActor.decide(running, cancel, 5_000);
    expect(cancelled.events.at(-1)).toEqual({
      type: 'RunCancelled',
      reason: 'cancelled by user',
      by: 'cli',
      at: 5_000,
    });
    const old: RunEvent = { type: 'RunReplayed', at: 6_000 };
    const ended = cancelled.events.reduce(runActor.evolve, running);
    const folded = runActor.evolve(ended, old);
    expect(folded).toMatchObject({ status: 'QUEUED', generation: 1 });
    expect(Object.values(folded.tasks).every((t) => t.status === 'PENDING')).toBe(true);
  });
});
