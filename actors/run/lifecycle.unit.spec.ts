/** The run actor around a task's attempt: cancel, schedule timeout, lost workers, refreshed timeouts, replay. */
import { describe, expect, it } from 'vitest';
import { deciderSpec } from '../testing/decider-spec.js';
import type { RunEvent } from './events.js';
import { runActor } from './index.js';
import type { RunMessage } from './messages.js';
import type { RunSpec } from './spec.js';
import { aRunTriggered } from './fixtures.js';

const RUN = 'run-9';
const NOTIFY = '_INBOX.client.3';
const spec = deciderSpec(runActor, RUN);
const runSpec: RunSpec = {
  name: 'resize',
  kind: 'task',
  tasks: [{ name: 'resize', retries: 1, executionTimeoutMs: 10_000, scheduleTimeoutMs: 60_000 }],
};
const key = (attempt: number, generation = 0) => `${RUN}:resize:${generation}.${attempt}`;

const triggered = aRunTriggered(RUN, runSpec, { input: { url: 'a.png' }, notify: NOTIFY });
const queued = (attempt: number, at = 1_000, generation = 0): RunEvent => ({
  type: 'TaskQueued',
  taskName: 'resize',
  key: key(attempt, generation),
  attempt,
  at,
});
const retrying: RunEvent[] = [
  triggered,
  queued(1),
  {
    type: 'TaskFailed',
    taskName: 'resize',
    key: key(1),
    error: { name: 'Error', message: 'flaky' },
    final: false,
    at: 2_000,
  },
  { type: 'RetryScheduled', taskName: 'resize', key: key(2), attempt: 2, dueAt: 4_000 },
];
const completed: RunEvent[] = [
  triggered,
  queued(1),
  { type: 'TaskStarted', taskName: 'resize', key: key(1), attempt: 1, workerId: 'w1', at: 1_500 },
  { type: 'TaskSucceeded', taskName: 'resize', key: key(1), output: 'ok', at: 1_800 },
  { type: 'RunCompleted', output: 'ok', at: 1_900 },
];
const cancelledBy = (reason: string, at: number): RunEvent[] => [
  { type: 'TaskCancelled', taskName: 'resize', reason, at },
  { type: 'RunCancelled', reason, at },
];
const runFinishedCancelled = (reason: string) => ({
  type: 'runFinished' as const,
  result: { runId: RUN, status: 'CANCELLED' as const, reason },
  notify: NOTIFY,
});

const cancel: RunMessage = { type: 'Cancel', id: 'cancel-1', reason: 'cancelled by user' };
const scheduleTimedOut = (attempt: number): RunMessage => ({
  type: 'ScheduleTimedOut',
  id: `schedule-timeout:${key(attempt)}`,
  key: key(attempt),
  taskName: 'resize',
});
const workerLost = (attempt: number): RunMessage => ({
  type: 'WorkerLost',
  id: `lost:${key(attempt)}:w1`,
  key: key(attempt),
  taskName: 'resize',
  workerId: 'w1',
});
const refreshed = (attempt: number): RunMessage => ({
  type: 'TimeoutRefreshed',
  id: `refresh-${attempt}`,
  key: key(attempt),
  taskName: 'resize',
  byMs: 30_000,
});
const replay: RunMessage = { type: 'Replay', id: 'replay-1' };

describe('run actor: Cancel', () => {
  it('cancels a queued task, aborts its attempt and tells the waiting client', () => {
    const { after } = spec
      .given([triggered, queued(1)])
      .when(cancel, 3_000)
      .then(cancelledBy('cancelled by user', 3_000), [
        { type: 'abortTask', key: key(1), reason: 'cancelled by user' },
        runFinishedCancelled('cancelled by user'),
      ]);
    expect(after).toMatchObject({
      status: 'CANCELLED',
      cancelReason: 'cancelled by user',
      finishedAt: 3_000,
    });
    expect(after.tasks.resize.status).toBe('CANCELLED');
  });

  it('cancels a task waiting for its retry without aborting anything (nothing is queued)', () => {
    spec
      .given(retrying)
      .when(cancel, 3_000)
      .then(cancelledBy('cancelled by user', 3_000), [runFinishedCancelled('cancelled by user')]);
  });

  it('a second Cancel, a Cancel of a finished run, or of an unknown run changes nothing', () => {
    spec
      .given([triggered, queued(1), ...cancelledBy('first', 2_000)])
      .when(cancel, 3_000)
      .thenNothing();
    spec.given(completed).when(cancel, 3_000).thenNothing();
    spec.when(cancel, 3_000).thenNothing();
  });
});

describe('run actor: ScheduleTimedOut', () => {
  it('cancels the run with reason "schedule timeout" while the attempt is still queued', () => {
    spec
      .given([triggered, queued(1)])
      .when(scheduleTimedOut(1), 61_500)
      .then(cancelledBy('schedule timeout', 61_500), [
        { type: 'abortTask', key: key(1), reason: 'schedule timeout' },
        runFinishedCancelled('schedule timeout'),
      ]);
  });

  it('ignores a timeout for an older attempt, a retry not queued yet, or a finished run', () => {
    spec
      .given([...retrying, queued(2, 4_000)])
      .when(scheduleTimedOut(1), 61_500)
      .thenNothing();
    spec.given(retrying).when(scheduleTimedOut(2), 61_500).thenNothing();
    spec.given(completed).when(scheduleTimedOut(1), 61_500).thenNothing();
  });
});

describe('run actor: WorkerLost and TimeoutRefreshed', () => {
  it('records that a lost worker’s attempt went back to the queue, and still accepts its result later', () => {
    const requeued: RunEvent = {
      type: 'TaskRequeued',
      taskName: 'resize',
      key: key(1),
      workerId: 'w1',
      reason: 'worker w1 was lost',
      at: 5_000,
    };
    spec
      .given([triggered, queued(1)])
      .when(workerLost(1), 5_000)
      .then([requeued], []);
    const result: RunMessage = {
      type: 'TaskResult',
      id: 'result-1',
      key: key(1),
      taskName: 'resize',
      workerId: 'w2',
      startedAt: 6_000,
      finishedAt: 7_000,
      output: 'ok',
    };
    spec
      .given([triggered, queued(1), requeued])
      .when(result, 7_100)
      .thenMatches(({ events, after }) => {
        expect(events.map((e) => e.type)).toEqual(['TaskStarted', 'TaskSucceeded', 'RunCompleted']);
        expect(after.tasks.resize).toMatchObject({ status: 'COMPLETED', workerId: 'w2' });
      });
  });

  it('records a dispatch the worker never acknowledged, and nothing once the task moved on', () => {
    const unacked: RunMessage = {
      type: 'WorkerLost',
      id: `unacked:${key(1)}:w1:0`,
      key: key(1),
      taskName: 'resize',
      workerId: 'w1',
      cause: 'unacknowledged',
    };
    const requeued: RunEvent = {
      type: 'TaskRequeued',
      taskName: 'resize',
      key: key(1),
      workerId: 'w1',
      reason: 'worker w1 never acknowledged the dispatch',
      at: 5_000,
    };
    spec
      .given([triggered, queued(1)])
      .when(unacked, 5_000)
      .then([requeued], []);
    // Its id is deterministic, so the host drops a redelivery; a second dispatch has its own.
    spec
      .given([...retrying, queued(2, 4_000)])
      .when(unacked, 5_000)
      .thenNothing();
    spec.given(completed).when(unacked, 5_000).thenNothing();
  });

  it('ignores a lost worker for a stale attempt or a finished run', () => {
    spec
      .given([...retrying, queued(2, 4_000)])
      .when(workerLost(1), 5_000)
      .thenNothing();
    spec.given(completed).when(workerLost(1), 5_000).thenNothing();
  });

  it('records a refreshed timeout of the live attempt only', () => {
    spec
      .given([triggered, queued(1)])
      .when(refreshed(1), 5_000)
      .then(
        [{ type: 'TimeoutRefreshed', taskName: 'resize', key: key(1), byMs: 30_000, at: 5_000 }],
        [],
      );
    spec
      .given([triggered, queued(1)])
      .when(refreshed(2), 5_000)
      .thenNothing();
    spec.given(completed).when(refreshed(1), 5_000).thenNothing();
  });
});

describe('run actor: Replay', () => {
  it('replays a finished run under generation 1 keys, so no old attempt can interfere', () => {
    const { after } = spec
      .given(completed)
      .when(replay, 9_000)
      .then(
        [{ type: 'RunReplayed', at: 9_000 }, queued(1, 9_000, 1)],
        [
          {
            type: 'enqueue',
            task: {
              key: 'run-9:resize:1.1',
              runId: RUN,
              workflowName: 'resize',
              taskName: 'resize',
              attempt: 1,
              maxAttempts: 2,
              priority: 1,
              enqueuedAt: 9_000,
              scheduleTimeoutMs: 60_000,
              executionTimeoutMs: 10_000,
              input: { url: 'a.png' },
              additionalMetadata: {},
            },
          },
        ],
      );
    expect(after).toMatchObject({
      status: 'QUEUED',
      output: undefined,
      finishedAt: undefined,
      generation: 1,
    });
    expect(runActor.isDone?.(after)).toBe(false);
  });

  it('replays a cancelled or failed run too', () => {
    spec
      .given([triggered, queued(1), ...cancelledBy('user', 2_000)])
      .when(replay, 9_000)
      .thenMatches(({ events }) => {
        expect(events).toEqual([{ type: 'RunReplayed', at: 9_000 }, queued(1, 9_000, 1)]);
      });
    const failedRun: RunEvent[] = [
      ...retrying.slice(0, 2),
      { type: 'RunFailed', errors: { resize: 'x' }, at: 2_000 },
    ];
    spec
      .given(failedRun)
      .when(replay, 9_000)
      .thenMatches(({ after }) => expect(after.errors).toBeUndefined());
  });

  it('a result of the replaced generation is ignored after a replay', () => {
    const replayed: RunEvent[] = [
      ...completed,
      { type: 'RunReplayed', at: 9_000 },
      queued(1, 9_000, 1),
    ];
    const late: RunMessage = {
      type: 'TaskResult',
      id: 'late',
      key: key(1),
      taskName: 'resize',
      workerId: 'w1',
      startedAt: 1,
      finishedAt: 2,
      output: 'old',
    };
    spec.given(replayed).when(late, 9_500).thenNothing();
  });

  it('Replay of a run still going, or of an unknown run, changes nothing', () => {
    spec
      .given([triggered, queued(1)])
      .when(replay, 9_000)
      .thenNothing();
    spec
      .given([...completed, { type: 'RunReplayed', at: 9_000 }, queued(1, 9_000, 1)])
      .when(replay, 9_500)
      .thenNothing();
    spec.when(replay, 9_000).thenNothing();
  });
});
