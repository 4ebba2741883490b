/** The run actor's side of durable tasks: recording calls, suspending, resuming. */
import { describe, expect, it } from 'vitest';
import { deciderSpec } from '../testing/decider-spec.js';
import { runActor, type RunEvent, type RunMessage } from './index.js';
import type { RunSpec } from './spec.js';
import { aRunTriggered } from './fixtures.js';

const RUN = 'run-d';
const spec: RunSpec = {
  name: 'approve',
  kind: 'task',
  tasks: [
    {
      name: 'approve',
      retries: 0,
      executionTimeoutMs: 60_000,
      scheduleTimeoutMs: 300_000,
      durable: true,
    },
  ],
};
const KEY = `${RUN}:approve:0.1`;
const triggered = aRunTriggered(RUN, spec);
const queued: RunEvent = {
  type: 'TaskQueued',
  taskName: 'approve',
  key: KEY,
  attempt: 1,
  at: 1_000,
};
const started: RunEvent = {
  type: 'TaskStarted',
  taskName: 'approve',
  key: KEY,
  attempt: 1,
  workerId: 'w1',
  at: 2_000,
};
const base = { key: KEY, taskName: 'approve', workerId: 'w1' };

const memo = (position: number, result: unknown): RunMessage => ({
  type: 'DurableCall',
  id: `call-${position}`,
  ...base,
  position,
  kind: 'memo',
  callKey: 'charge:abc',
  result,
});
const sleepWait = (position: number, ms: number): RunMessage => ({
  type: 'DurableWait',
  id: `wait-${position}`,
  ...base,
  position,
  kind: 'sleep',
  callKey: 'sleepFor',
  conditions: [[{ kind: 'sleep', id: 'c0', ms }]],
});
const recorded = (position: number, result: unknown, at: number): RunEvent => ({
  type: 'DurableCallRecorded',
  taskName: 'approve',
  position,
  kind: 'memo',
  callKey: 'charge:abc',
  result,
  at,
});

const spec0 = deciderSpec(runActor, RUN);

describe('a durable task in the run actor', () => {
  it('records a memo at the next position, and marks the task started', () => {
    spec0
      .given([triggered, queued])
      .when(memo(0, { charged: 5 }), 2_000)
      .then([started, recorded(0, { charged: 5 }, 2_000)]);
  });

  it('ignores a call at a position already recorded', () => {
    const given = [triggered, queued, started, recorded(0, 1, 2_000)];
    spec0.given(given).when(memo(0, 2), 3_000).thenNothing();
  });

  // Sent to another engine while the one with the call before it was cut off: dropping it
  // (and answering "stored") lost the wait, and the task was dispatched again forever.
  it('leaves a call or a wait that came before the calls ahead of it for later', () => {
    const given = [triggered, queued, started, recorded(0, 1, 2_000)];
    spec0.given(given).when(memo(2, 2), 3_000).thenEarly();
    spec0.given([triggered, queued, started]).when(sleepWait(1, 1_000), 3_000).thenEarly();
    spec0
      .given(given)
      .when(sleepWait(1, 1_000), 3_000)
      .thenMatches(({ events }) => {
        expect(events.map((e) => e.type)).toEqual(['DurableWaitStarted', 'TaskSuspended']);
      });
  });

  it('suspends on a sleep with a timer at its deadline, and resumes with a new key when it elapses', () => {
    const waited = spec0
      .given([triggered, queued, started])
      .when(sleepWait(0, 60_000), 3_000)
      .thenMatches(({ events, effects }) => {
        expect(events.map((e) => e.type)).toEqual(['DurableWaitStarted', 'TaskSuspended']);
        expect(effects).toEqual([expect.objectContaining({ type: 'startTimer', dueAt: 63_000 })]);
      });
    const timer = waited.effects[0] as Extract<(typeof waited.effects)[0], { type: 'startTimer' }>;
    spec0
      .given([triggered, queued, started, ...waited.events])
      .when(timer.message as RunMessage, 63_050)
      .thenMatches(({ events, effects, after }) => {
        expect(events.map((e) => e.type)).toEqual([
          'ConditionMet',
          'DurableCallRecorded',
          'TaskQueued',
        ]);
        expect(events[1]).toMatchObject({
          position: 0,
          kind: 'sleep',
          callKey: 'sleepFor',
          result: { durationMs: 60_050 },
        });
        expect(after.tasks.approve.callCount).toBe(1);
        const enqueue = effects.find((fx) => fx.type === 'enqueue');
        expect(enqueue).toMatchObject({
          task: {
            key: `${KEY}~1`,
            durable: true,
            resume: { position: 0, result: { durationMs: 60_050 } },
            preferredWorkerId: 'w1',
          },
        });
      });
  });

  it('starts no second timer when a wait at the same position is sent again', () => {
    const waited = spec0.given([triggered, queued, started]).when(sleepWait(0, 60_000), 3_000);
    const events = [triggered, queued, started, ...waited.thenMatches(() => undefined).events];
    spec0
      .given(events)
      .when({ ...sleepWait(0, 60_000), id: 'again' }, 10_000)
      .thenNothing();
  });

  it('queues the task again at once, to be replayed, when the wait was resolved while the execution was away', () => {
    const given = [triggered, queued, started, recorded(0, 'done', 2_500)];
    spec0
      .given(given)
      .when({ ...sleepWait(0, 1_000), id: 'late' }, 3_000)
      .thenMatches(({ events, effects }) => {
        expect(events.map((e) => e.type)).toEqual(['TaskSuspended', 'TaskQueued']);
        expect(effects).toMatchObject([
          { type: 'enqueue', task: { key: `${KEY}~1`, preferredWorkerId: 'w1' } },
        ]);
        const [enqueue] = effects as Extract<(typeof effects)[0], { type: 'enqueue' }>[];
        // Without a result the worker holding the execution drops it and replays the history.
        expect(enqueue.task.resume).toBeUndefined();
      });
  });

  it('takes a child result that arrives before the parent waits for it', () => {
    const finished: RunMessage = {
      type: 'ChildFinished',
      id: 'child-finished:c1:0',
      taskName: 'approve',
      position: 0,
      result: { runId: 'c1', status: 'COMPLETED', output: 7 },
    };
    const early = spec0
      .given([triggered, queued, started])
      .when(finished, 2_500)
      .thenMatches(() => undefined);
    spec0
      .given([triggered, queued, started, ...early.events])
      .when(
        {
          type: 'DurableWait',
          id: 'wait-child',
          ...base,
          position: 0,
          kind: 'child',
          callKey: 'child-task',
          childRunId: 'c1',
        },
        3_000,
      )
      .thenMatches(({ events, after }) => {
        expect(events.map((e) => e.type)).toEqual([
          'DurableWaitStarted',
          'TaskSuspended',
          'DurableCallRecorded',
          'TaskQueued',
        ]);
        expect(events[2]).toMatchObject({ position: 0, result: finished.result });
        expect(after.tasks.approve.callCount).toBe(1);
      });
  });

  it('drops a result from a suspended attempt, and cancels a suspended task with its run', () => {
    const waited = spec0.given([triggered, queued, started]).when(sleepWait(0, 60_000), 3_000);
    const events = [triggered, queued, started, ...waited.thenMatches(() => undefined).events];
    spec0
      .given(events)
      .when({ type: 'TaskResult', id: 'r', ...base, startedAt: 1, finishedAt: 2, output: 1 }, 4_000)
      .thenNothing();
    spec0
      .given(events)
      .when({ type: 'Cancel', id: 'c', reason: 'cancelled by user' }, 4_000)
      .thenMatches(({ after }) => {
        expect(after.status).toBe('CANCELLED');
        expect(after.tasks.approve.status).toBe('CANCELLED');
      });
  });
});
