/** The scheduler: which queued task run goes to which worker slot, and what happens when things go wrong. */
import { describe, expect, it } from 'vitest';
import { at, schedulerSpec } from '../testing/scheduler-spec.js';
import { REFUSAL_PAUSE_MS, REQUEUE_RECORD_WAIT_MS } from './decide.js';
import { waitingFor } from './placement.js';
import type { SchedulerMessage } from './messages.js';
import {
  dispatch,
  dispatched,
  done,
  enqueue,
  heartbeat,
  HIGH,
  LOW,
  MEDIUM,
  recorded,
  tellWorkerLost,
  tellDispatchUnacked,
  tick,
} from './fixtures.js';

const spec = schedulerSpec({ config: { workerLostAfterMs: 10_000, reconcileAfterMs: 5_000 } });

describe('scheduler: order', () => {
  it('dispatches HIGH before MEDIUM before LOW, oldest first within a priority', () => {
    const queue = [
      enqueue('low-1', { priority: LOW }),
      enqueue('med-1', { priority: MEDIUM }),
      enqueue('high-1', { priority: HIGH }),
      enqueue('low-2', { priority: LOW }),
      enqueue('high-2', { priority: HIGH }),
    ];
    spec
      .given(queue)
      .when(heartbeat('w1', 5), 10)
      .thenMatches((turn) => {
        expect(dispatched(turn)).toEqual([
          'w1:high-1',
          'w1:high-2',
          'w1:med-1',
          'w1:low-1',
          'w1:low-2',
        ]);
      });
    spec
      .given(queue)
      .when(heartbeat('w1', 2), 10)
      .thenMatches((turn) => {
        expect(dispatched(turn)).toEqual(['w1:high-1', 'w1:high-2']);
      });
  });

  it('a freed slot goes to the oldest waiting entry of the highest priority', () => {
    spec
      .given([
        heartbeat('w1', 1),
        enqueue('k1'),
        enqueue('k2'),
        enqueue('k3', { priority: MEDIUM }),
        enqueue('k4'),
      ])
      .when(done('k1'), 10)
      .then([{ type: 'ack', key: 'k1' }, dispatch('w1', 'k3', { priority: MEDIUM })]);
    spec
      .given([heartbeat('w1', 1), enqueue('k1'), enqueue('k2'), enqueue('k3')])
      .when(done('k1'), 10)
      .then([{ type: 'ack', key: 'k1' }, dispatch('w1', 'k2')]);
  });

  it('an entry no worker can take does not hold back the ones behind it', () => {
    spec
      .given([enqueue('x1', { taskName: 'x' }), enqueue('k1')])
      .when(heartbeat('w1', 2), 10)
      .then([dispatch('w1', 'k1')]);
  });
});

describe('scheduler: slots and workers', () => {
  it('never sends a worker more than its free slots', () => {
    const queue = ['k1', 'k2', 'k3', 'k4'].map((k) => enqueue(k));
    spec
      .given(queue)
      .when(heartbeat('w1', 3, { running: ['k1'] }), 10)
      .thenMatches((turn, state) => {
        expect(dispatched(turn)).toEqual(['w1:k2', 'w1:k3']);
        expect([...state.workers.get('w1')!.running]).toEqual(['k1', 'k2', 'k3']);
      });
    spec
      .given([heartbeat('w1', 2), enqueue('k1'), enqueue('k2')])
      .when(enqueue('k3'), 10)
      .thenNothing();
    spec
      .given([heartbeat('w1', 0)])
      .when(enqueue('k1'), 10)
      .thenNothing();
  });

  it('sends a task run only to a worker that serves its task', () => {
    const workers = [
      heartbeat('wa', 5),
      heartbeat('wb', 5, { serves: [{ name: 'wf', tasks: ['b'] }] }),
    ];
    spec
      .given(workers)
      .when(enqueue('k1', { taskName: 'b' }), 10)
      .then([dispatch('wb', 'k1', { taskName: 'b' })]);
    spec
      .given(workers)
      .when(enqueue('k1', { taskName: 'c' }), 10)
      .thenNothing();
  });

  it('places a task by its workflow and its name, not by the name alone', () => {
    // Two workflows with a task named 'step', each served by its own worker.
    const workers = [
      heartbeat('wa', 5, { serves: [{ name: 'A', tasks: ['step', 'on_failure'] }] }),
      heartbeat('wb', 9, { serves: [{ name: 'B', tasks: ['step', 'on_failure'] }] }),
    ];
    const ofA = { workflowName: 'A', taskName: 'step' };
    const ofB = { workflowName: 'B', taskName: 'step' };
    spec
      .given([...workers, enqueue('k1', ofA), enqueue('k2', ofB)])
      .when(enqueue('k3', ofA), 10)
      .then([dispatch('wa', 'k3', ofA)]);
    const hookOfA = { workflowName: 'A', taskName: 'on_failure' };
    spec
      .given(workers)
      .when(enqueue('k1', hookOfA), 10)
      .then([dispatch('wa', 'k1', hookOfA)]);
    // A workflow nobody serves waits, though its task's name is served in another workflow.
    spec
      .given(workers)
      .when(enqueue('k1', { workflowName: 'C', taskName: 'step' }), 10)
      .thenMatches((turn, state) => {
        expect(turn.effects).toEqual([]);
        expect(waitingFor(state, state.entries.get('k1')!, 10)).toBe(
          "a worker that serves task 'step' of 'C'",
        );
      });
  });

  it('a standalone task and a workflow’s task of one name go to their own workers', () => {
    const workers = [
      heartbeat('wt', 5, { serves: [{ name: 'step', tasks: ['step'] }] }),
      heartbeat('ww', 9, { serves: [{ name: 'wf', tasks: ['step'] }] }),
    ];
    const standalone = { workflowName: 'step', taskName: 'step' };
    spec
      .given(workers)
      .when(enqueue('k1', standalone), 10)
      .then([dispatch('wt', 'k1', standalone)]);
  });

  it('a sticky or preferred worker that does not serve the task’s workflow is passed over', () => {
    const workers = [
      heartbeat('wa', 5, { serves: [{ name: 'A', tasks: ['step'] }] }),
      heartbeat('wb', 5, { serves: [{ name: 'B', tasks: ['step'] }] }),
    ];
    const ofA = {
      workflowName: 'A',
      taskName: 'step',
      sticky: { strategy: 'soft' as const, workerId: 'wb' },
      preferredWorkerId: 'wb',
    };
    spec
      .given(workers)
      .when(enqueue('k1', ofA), 10)
      .then([dispatch('wa', 'k1', ofA)]);
  });

  it('picks the worker with the most free slots', () => {
    spec
      .given([heartbeat('w1', 2), heartbeat('w2', 4)])
      .when(enqueue('k1'), 10)
      .then([dispatch('w2', 'k1')]);
    const six = ['k1', 'k2', 'k3', 'k4', 'k5'].map((k) => enqueue(k));
    spec
      .given([heartbeat('w1', 2), heartbeat('w2', 4), ...six])
      .when(enqueue('k6'), 10)
      .thenMatches((_turn, state) => {
        expect(state.workers.get('w1')!.running.size).toBe(2);
        expect(state.workers.get('w2')!.running.size).toBe(4);
      });
  });

  it('a stopping worker gets nothing new', () => {
    spec
      .given([heartbeat('w1', 5, { stopping: true })])
      .when(enqueue('k1'), 10)
      .thenNothing();
  });

  it('the same entry enqueued twice is dispatched once', () => {
    spec
      .given([heartbeat('w1', 5), enqueue('k1')])
      .when(enqueue('k1'), 10)
      .thenNothing();
  });
});

describe('scheduler: refusals and lost workers', () => {
  it('a refused dispatch goes back to the queue and the worker gets nothing for REFUSAL_PAUSE_MS', () => {
    const given = [
      heartbeat('w1', 1),
      enqueue('k1'),
      at(100, { type: 'DispatchRejected', key: 'k1', workerId: 'w1' }),
    ];
    spec
      .given(given)
      .when(tick, 100 + REFUSAL_PAUSE_MS - 1)
      .thenNothing();
    spec
      .given(given)
      .when(tick, 100 + REFUSAL_PAUSE_MS)
      .then([dispatch('w1', 'k1')]);
    spec
      .given([heartbeat('w1', 1), heartbeat('w2', 1), enqueue('k1')])
      .when({ type: 'DispatchRejected', key: 'k1', workerId: 'w1' }, 100)
      .then([dispatch('w2', 'k1')]);
  });

  it('ignores a refusal from a worker the entry is not assigned to', () => {
    spec
      .given([heartbeat('w1', 1), enqueue('k1')])
      .when({ type: 'DispatchRejected', key: 'k1', workerId: 'w9' }, 100)
      .thenMatches((turn, state) => {
        expect(turn.effects).toEqual([]);
        expect(state.entries.get('k1')?.workerId).toBe('w1');
      });
  });

  it('a worker silent for longer than workerLostAfterMs is lost: its runs are told and requeued', () => {
    const given = [heartbeat('w1', 1), enqueue('k1'), at(5_000, heartbeat('w2', 1))];
    spec.given(given).when(tick, 10_000).thenNothing();
    spec
      .given(given)
      .when(tick, 10_001)
      .then([tellWorkerLost('k1', 'w1')]);
    spec
      .given([...given, at(10_001, tick)])
      .when(recorded('k1', 'w1'), 10_020)
      .then([dispatch('w2', 'k1')]);
    spec
      .given([
        heartbeat('w1', 1),
        enqueue('k1'),
        at(8_000, heartbeat('w1', 1, { running: ['k1'] })),
      ])
      .when(tick, 15_000)
      .thenNothing();
  });

  it('a lost worker gets nothing more until it heartbeats again', () => {
    const lost = [heartbeat('w1', 3), at(10_001, tick)];
    spec.given(lost).when(enqueue('k1'), 10_002).thenNothing();
    spec
      .given([...lost, enqueue('k1')])
      .when(heartbeat('w1', 3), 10_003)
      .then([dispatch('w1', 'k1')]);
  });

  it('a worker that leaves has its runs requeued at once', () => {
    spec
      .given([heartbeat('w1', 2), enqueue('k1'), enqueue('k2'), heartbeat('w2', 2)])
      .when({ type: 'WorkerLeft', workerId: 'w1' }, 50)
      .then([tellWorkerLost('k1', 'w1'), tellWorkerLost('k2', 'w1')]);
  });

  it('a requeued task run goes out again once its run has recorded why, not before', () => {
    // The tell goes through the run's inbox, a new worker's result straight to the run: a
    // result first would end the run with no trace of the lost attempt.
    const given = [
      heartbeat('w1', 2),
      enqueue('k1'),
      enqueue('k2'),
      heartbeat('w2', 2),
      at(50, { type: 'WorkerLeft', workerId: 'w1' }),
    ];
    spec
      .given(given)
      .when(recorded('k2', 'w1'), 60)
      .then([dispatch('w2', 'k2')]);
    spec
      .given([...given, at(60, recorded('k2', 'w1'))])
      .when(recorded('k1', 'w1'), 70)
      .then([dispatch('w2', 'k1')]);
    // A record of its leaving another worker (an earlier requeue) does not count.
    spec.given(given).when(recorded('k1', 'w9'), 60).thenNothing();
    spec
      .given(given)
      .when(tick, 60)
      .thenMatches((turn, state) => {
        expect(turn.effects).toEqual([]);
        expect(waitingFor(state, state.entries.get('k1')!, 60)).toBe(
          'its run to record why it left worker w1',
        );
      });
  });

  it('a requeue its run never records (the tell was lost) goes out after REQUEUE_RECORD_WAIT_MS', () => {
    const given = [
      heartbeat('w1', 1),
      enqueue('k1', { scheduleTimeoutMs: 1_000 }),
      heartbeat('w2', 1),
      at(50, { type: 'WorkerLeft', workerId: 'w1' }),
    ];
    // Nor does its schedule timeout pass while it waits for the record.
    spec
      .given(given)
      .when(tick, 50 + REQUEUE_RECORD_WAIT_MS - 1)
      .thenNothing();
    spec
      .given(given)
      .when(tick, 50 + REQUEUE_RECORD_WAIT_MS)
      .then([dispatch('w2', 'k1', { scheduleTimeoutMs: 1_000 })]);
  });

  it('a worker taken for lost that still runs a task does not take it back from its new holder', () => {
    const given = [
      heartbeat('w1', 1),
      enqueue('k1'),
      at(9_000, heartbeat('w2', 1)),
      at(10_001, tick), // w1 silent too long: k1 requeued
      at(10_002, recorded('k1', 'w1')), // and sent to w2
    ];
    spec
      .given(given)
      .when(heartbeat('w1', 1, { running: ['k1'], sentAt: 10_003 }), 10_003)
      .thenMatches((turn, state) => {
        expect(turn.effects).toEqual([]);
        expect(state.entries.get('k1')?.workerId).toBe('w2');
      });
  });
});

describe('scheduler: rebuilding after a scheduler change', () => {
  const restarted = schedulerSpec({ holdMs: 5_000 });

  it('a heartbeat claims a redelivered entry its worker runs: it is not dispatched again', () => {
    const given = [enqueue('k1', {}, true), heartbeat('w1', 2)];
    restarted
      .given(given)
      .when(heartbeat('w2', 2, { running: ['k1'] }), 100)
      .thenMatches((turn, state) => {
        expect(turn.effects).toEqual([]);
        expect(state.entries.get('k1')?.workerId).toBe('w2');
      });
    restarted
      .given([...given, at(100, heartbeat('w2', 2, { running: ['k1'] }))])
      .when(tick, 6_000)
      .thenNothing();
  });

  it('holds unclaimed redelivered entries until holdRedeliveredUntil, but not fresh ones', () => {
    const given = [enqueue('k1', {}, true), heartbeat('w1', 2)];
    restarted.given(given).when(tick, 4_999).thenNothing();
    restarted
      .given(given)
      .when(tick, 5_000)
      .then([dispatch('w1', 'k1')]);
    restarted
      .given(given)
      .when(enqueue('k2'), 10)
      .then([dispatch('w1', 'k2')]);
  });

  it('a dispatch the worker does not list after reconcileAfterMs is sent again, and its run told why', () => {
    const given = [heartbeat('w1', 1), enqueue('k1')];
    spec
      .given(given)
      .when(heartbeat('w1', 1, { sentAt: 5_000 }), 5_000)
      .thenNothing();
    spec
      .given(given)
      .when(heartbeat('w1', 1, { sentAt: 5_001 }), 5_001)
      .then([tellDispatchUnacked('k1', 'w1', 0)]);
    spec
      .given([...given, at(5_001, heartbeat('w1', 1, { sentAt: 5_001 }))])
      .when(recorded('k1', 'w1'), 5_050)
      .then([dispatch('w1', 'k1')]);
    spec
      .given(given)
      .when(heartbeat('w1', 1, { sentAt: 9_000, running: ['k1'] }), 9_000)
      .thenNothing();
  });
});

describe('scheduler: durable task runs held suspended on their worker', () => {
  // The run has not recorded the wait yet (its messages are late): the key is still assigned.
  const given = [heartbeat('w1', 1), enqueue('k1', { durable: true })];
  const suspendedOn = (workerId: string, sentAt: number) =>
    heartbeat(workerId, 1, { sentAt, suspended: ['k1'] });

  it('a dispatch the worker lists as suspended is not sent again after reconcileAfterMs', () => {
    spec.given(given).when(suspendedOn('w1', 5_001), 5_001).thenNothing();
    spec
      .given([...given, at(5_001, suspendedOn('w1', 5_001))])
      .when(suspendedOn('w1', 30_000), 30_000)
      .thenMatches((turn, state) => {
        expect(turn.effects).toEqual([]);
        expect(state.entries.get('k1')?.workerId).toBe('w1');
      });
  });

  it('a worker that dies holding it suspended has it requeued as lost', () => {
    const lost = [...given, at(2_000, suspendedOn('w1', 2_000)), at(11_000, heartbeat('w2', 1))];
    spec
      .given(lost)
      .when(tick, 12_001)
      .then([tellWorkerLost('k1', 'w1')]);
    spec
      .given([...lost, at(12_001, tick)])
      .when(recorded('k1', 'w1'), 12_050)
      .then([dispatch('w2', 'k1', { durable: true })]);
    spec
      .given([...given, at(2_000, suspendedOn('w1', 2_000))])
      .when({ type: 'WorkerLeft', workerId: 'w1' }, 3_000)
      .then([tellWorkerLost('k1', 'w1')]);
  });

  it('a heartbeat without the key (an older worker, or one that dropped it) requeues it as before', () => {
    spec
      .given([...given, at(2_000, suspendedOn('w1', 2_000))])
      .when(heartbeat('w1', 1, { sentAt: 5_001 }), 5_001)
      .then([tellDispatchUnacked('k1', 'w1', 0)]);
    spec
      .given([
        ...given,
        at(2_000, suspendedOn('w1', 2_000)),
        at(5_001, heartbeat('w1', 1, { sentAt: 5_001 })),
      ])
      .when(recorded('k1', 'w1'), 5_050)
      .then([dispatch('w1', 'k1', { durable: true })]);
  });

  it('a new scheduler leader lets the worker claim it instead of dispatching it again', () => {
    const restarted = schedulerSpec({ holdMs: 5_000 });
    const redelivered = [enqueue('k1', { durable: true }, true), heartbeat('w2', 1)];
    restarted
      .given(redelivered)
      .when(suspendedOn('w1', 100), 100)
      .thenMatches((turn, state) => {
        expect(turn.effects).toEqual([]);
        expect(state.entries.get('k1')?.workerId).toBe('w1');
      });
    restarted
      .given([...redelivered, at(100, suspendedOn('w1', 100))])
      .when(tick, 6_000)
      .thenNothing();
  });
});

describe('scheduler: schedule timeout and abort', () => {
  it('releases an entry queued longer than its schedule timeout and tells its run', () => {
    const given = [enqueue('k1', { scheduleTimeoutMs: 1_000, enqueuedAt: 0 })];
    spec.given(given).when(tick, 1_000).thenNothing();
    spec
      .given(given)
      .when(tick, 1_001)
      .then([
        { type: 'ack', key: 'k1' },
        {
          type: 'tellRun',
          runId: 'run-k1',
          message: {
            type: 'ScheduleTimedOut',
            id: 'schedule-timeout:k1',
            key: 'k1',
            taskName: 'a',
          },
        },
      ]);
    spec
      .given([...given, at(1_001, tick)])
      .when(heartbeat('w1', 1), 1_002)
      .thenNothing();
  });

  it('a dispatched entry never times out in the queue', () => {
    spec
      .given([
        heartbeat('w1', 1),
        enqueue('k1', { scheduleTimeoutMs: 1_000 }),
        at(900, heartbeat('w1', 1, { running: ['k1'] })),
      ])
      .when(tick, 5_000)
      .thenNothing();
  });

  it('Abort releases a queued entry, which is then never dispatched', () => {
    spec
      .given([enqueue('k1')])
      .when({ type: 'Abort', key: 'k1', reason: 'cancelled' }, 10)
      .then([{ type: 'ack', key: 'k1' }]);
    spec
      .given([enqueue('k1'), { type: 'Abort', key: 'k1', reason: 'cancelled' }])
      .when(heartbeat('w1', 1), 20)
      .thenNothing();
  });

  it('Abort of a dispatched entry aborts it on its worker and frees the slot', () => {
    spec
      .given([heartbeat('w1', 1), enqueue('k1'), enqueue('k2')])
      .when({ type: 'Abort', key: 'k1', reason: 'cancelled' }, 10)
      .then([
        { type: 'abortOnWorker', workerId: 'w1', key: 'k1', reason: 'cancelled' },
        { type: 'ack', key: 'k1' },
        dispatch('w1', 'k2'),
      ]);
    spec
      .given([heartbeat('w1', 1)])
      .when({ type: 'Abort', key: 'nope', reason: 'x' }, 10)
      .thenNothing();
  });
});

describe('scheduler: requeued entries', () => {
  it('a task run requeued behind an entry no worker serves is dispatched once, not twice', () => {
    spec
      .given([
        enqueue('x1', { taskName: 'x' }),
        heartbeat('w1', 1),
        enqueue('k1'),
        heartbeat('w2', 1),
        heartbeat('w3', 1),
        { type: 'WorkerLeft', workerId: 'w1' },
      ])
      .when(recorded('k1', 'w1'), 10)
      .thenMatches((turn) => expect(dispatched(turn)).toHaveLength(1));
  });

  it('a task run requeued from a lost worker gets its full schedule timeout again', () => {
    spec
      .given([
        heartbeat('w1', 1),
        enqueue('k1', { scheduleTimeoutMs: 1_000 }),
        at(5_000, heartbeat('w1', 1, { running: ['k1'], sentAt: 5_000 })),
        at(6_000, { type: 'WorkerLeft', workerId: 'w1' }),
      ])
      .when(tick, 6_100)
      .thenNothing();
  });

  it('a lost worker’s task runs come back oldest first', () => {
    spec
      .given([
        heartbeat('w1', 2),
        enqueue('k1'),
        enqueue('k2'),
        { type: 'WorkerLeft', workerId: 'w1' },
        recorded('k2', 'w1'),
        recorded('k1', 'w1'),
      ])
      .when(heartbeat('w2', 1), 10)
      .then([dispatch('w2', 'k1')]);
  });
});

describe('scheduler: a worker that finished a task run', () => {
  const finished = (key: string, workerId = 'w1'): SchedulerMessage => ({
    type: 'TaskFinished',
    key,
    workerId,
  });

  it('frees the slot at once for the next entry, without dispatching the finished one again', () => {
    const turn = spec
      .given([heartbeat('w1', 1), enqueue('k1'), enqueue('k2')])
      .when(finished('k1'), 0)
      .then([dispatch('w1', 'k2')]);
    expect(turn.state.entries.get('k1')?.finished).toBe(true);
  });

  it('releases the finished entry (acknowledging it) when its outcome arrives', () => {
    spec
      .given([heartbeat('w1', 1), enqueue('k1'), finished('k1')])
      .when(done('k1'), 0)
      .then([{ type: 'ack', key: 'k1' }]);
  });

  it('ignores the word of a worker that does not hold the entry', () => {
    spec
      .given([heartbeat('w1', 1), enqueue('k1'), enqueue('k2')])
      .when(finished('k1', 'w2'), 0)
      .thenNothing();
  });

  it('does not requeue a finished entry when the worker is lost before its outcome arrives', () => {
    spec
      .given([heartbeat('w1', 1), enqueue('k1'), finished('k1')])
      .when(tick, 20_000)
      .thenMatches((turn) => expect(dispatched(turn)).toEqual([]));
  });
});
