/**
 * The run actor judging a deadline that races events: a durable waitFor(Or(sleep, event)) and
 * a workflow task's waitFor / cancelIf. The condition that held first in the time of the
 * events wins, however late the run hears of the event.
 */
import { describe, expect, it } from 'vitest';
import type { Effect } from '../effects.js';
import { deciderSpec } from '../testing/decider-spec.js';
import { aTask } from './fixtures.js';
import { runActor, type RunEvent, type RunMessage } from './index.js';
import type { ConditionExpr, RunSpec } from './spec.js';
import { aRunTriggered } from './fixtures.js';

const RUN = 'run-t';
const spec0 = deciderSpec(runActor, RUN);
const triggered = (spec: RunSpec): RunEvent => aRunTriggered(RUN, spec);
const checks = (effects: Effect[]) => effects.filter((fx) => fx.type === 'checkEvents');

describe('a durable wait for an approval or a timeout', () => {
  const KEY = `${RUN}:approve:0.1`;
  const spec: RunSpec = {
    name: 'approve',
    kind: 'task',
    tasks: [aTask('approve', { durable: true })],
  };
  const conditions: ConditionExpr = [
    [
      { kind: 'sleep', id: 'c0', ms: 10_000, readableDataKey: 'timeout' },
      { kind: 'event', id: 'c1', eventKey: 'order:approved', readableDataKey: 'approved' },
    ],
  ];
  const base = { key: KEY, taskName: 'approve', workerId: 'w1' };
  const waiting = spec0
    .given([
      triggered(spec),
      { type: 'TaskQueued', taskName: 'approve', key: KEY, attempt: 1, at: 1_000 },
    ])
    .when(
      {
        type: 'DurableWait',
        id: 'wait-0',
        ...base,
        position: 0,
        kind: 'waitFor',
        callKey: 'k',
        conditions,
      },
      2_000,
    )
    .thenMatches(() => undefined);
  const given = () =>
    spec0.given([
      triggered(spec),
      { type: 'TaskQueued', taskName: 'approve', key: KEY, attempt: 1, at: 1_000 },
      ...waiting.events,
    ]);
  const deadline = 12_000;
  const elapsed: RunMessage = {
    type: 'SleepElapsed',
    id: 'dsleep:run-t:approve:0:d0.c0',
    taskName: 'approve',
    conditionId: 'd0.c0',
    generation: 0,
  };
  const approved = (at: number): RunMessage => ({
    type: 'EventReceived',
    id: `event:e-${at}`,
    taskName: 'approve',
    conditionId: 'd0.c1',
    generation: 0,
    eventId: `e-${at}`,
    payload: { ok: true },
    at,
  });
  const checked = (found: number[], horizon = deadline): RunMessage => ({
    type: 'EventsChecked',
    id: 'checked:x',
    taskName: 'approve',
    generation: 0,
    position: 0,
    horizon,
    found: found.map((at) => ({
      conditionId: 'd0.c1',
      eventId: `e-${at}`,
      at,
      payload: { ok: true },
    })),
  });
  const result = (events: RunEvent[]) =>
    events.find((e) => e.type === 'DurableCallRecorded') as
      Extract<RunEvent, { type: 'DurableCallRecorded' }> | undefined;

  it('does not take the timeout when its timer fires, but checks the events stored up to the deadline', () => {
    given()
      .when(elapsed, deadline + 5)
      .then(
        [],
        [
          {
            type: 'checkEvents',
            check: {
              id: `checked:${elapsed.id}`,
              runId: RUN,
              taskName: 'approve',
              generation: 0,
              position: 0,
              horizon: deadline + 5,
              conditions: [
                {
                  conditionId: 'd0.c1',
                  eventKey: 'order:approved',
                  sinceMs: 2_000,
                  expression: undefined,
                  scope: undefined,
                },
              ],
            },
          },
        ],
      );
  });

  it('takes an approval the check found stamped before the deadline', () => {
    given()
      .when(checked([deadline - 1]), deadline + 9_000)
      .thenMatches(({ events }) => {
        expect(result(events)?.result).toEqual({ approved: { ok: true } });
      });
  });

  it('times out when the check found the approval stamped after the deadline, or none', () => {
    for (const found of [[deadline + 1], []]) {
      given()
        .when(checked(found), deadline + 50)
        .thenMatches(({ events }) => {
          expect(Object.keys(result(events)?.result as object)).toEqual(['timeout']);
        });
    }
  });

  it('takes an approval stamped before the deadline at once, whenever it arrives', () => {
    given()
      .when(approved(deadline), deadline + 9_000)
      .thenMatches(({ events, effects }) => {
        expect(result(events)?.result).toEqual({ approved: { ok: true } });
        expect(checks(effects)).toEqual([]);
      });
  });

  it('judges the deadline first for an approval stamped after it', () => {
    given()
      .when(approved(deadline + 1), deadline + 3)
      .thenMatches(({ events, effects }) => {
        expect(events).toEqual([]);
        expect(checks(effects)).toMatchObject([{ check: { horizon: deadline + 3 } }]);
      });
  });

  it('ignores an event stamped before the wait began', () => {
    given().when(approved(1_999), 3_000).thenNothing();
  });

  it('ignores a check made for an earlier wait of the task', () => {
    given()
      .when({ ...checked([deadline - 1]), position: 1 } as RunMessage, deadline + 50)
      .thenNothing();
  });
});

describe('a plain durable sleep', () => {
  it('holds when its timer fires, without a check', () => {
    const KEY = `${RUN}:nap:0.1`;
    const spec: RunSpec = { name: 'nap', kind: 'task', tasks: [aTask('nap', { durable: true })] };
    const given: RunEvent[] = [
      triggered(spec),
      { type: 'TaskQueued', taskName: 'nap', key: KEY, attempt: 1, at: 1_000 },
    ];
    const waited = spec0
      .given(given)
      .when(
        {
          type: 'DurableWait',
          id: 'w',
          key: KEY,
          taskName: 'nap',
          workerId: 'w1',
          position: 0,
          kind: 'sleep',
          callKey: 'sleep',
          conditions: [[{ kind: 'sleep', id: 'c0', ms: 1_000 }]],
        },
        2_000,
      )
      .thenMatches(() => undefined);
    spec0
      .given([...given, ...waited.events])
      .when(
        { type: 'SleepElapsed', id: 's', taskName: 'nap', conditionId: 'd0.c0', generation: 0 },
        3_000,
      )
      .thenMatches(({ events, effects }) => {
        expect(events.map((e) => e.type)).toEqual([
          'ConditionMet',
          'DurableCallRecorded',
          'TaskQueued',
        ]);
        expect(checks(effects)).toEqual([]);
      });
  });
});

describe('a workflow task shipped on approval, cancelled at a timeout', () => {
  const spec: RunSpec = {
    name: 'ship-unless-late',
    kind: 'workflow',
    tasks: [
      aTask('ship', {
        waitFor: [[{ kind: 'event', id: 'c0', eventKey: 'order:approved' }]],
        cancelIf: [[{ kind: 'sleep', id: 'cancelIf.c0', ms: 10_000 }]],
      }),
    ],
  };
  const given = [triggered(spec), { type: 'TaskWaiting', taskName: 'ship', at: 1_000 } as RunEvent];
  const deadline = 11_000;
  const checked = (found: number[]): RunMessage => ({
    type: 'EventsChecked',
    id: 'checked:x',
    taskName: 'ship',
    generation: 0,
    horizon: deadline,
    found: found.map((at) => ({ conditionId: 'c0', eventId: 'e', at, payload: {} })),
  });

  it('checks the events when the timeout’s timer fires', () => {
    spec0
      .given(given)
      .when(
        {
          type: 'SleepElapsed',
          id: 's',
          taskName: 'ship',
          conditionId: 'cancelIf.c0',
          generation: 0,
        },
        deadline,
      )
      .thenMatches(({ events, effects }) => {
        expect(events).toEqual([]);
        expect(checks(effects)).toMatchObject([{ check: { horizon: deadline } }]);
        expect(checks(effects)[0]).not.toHaveProperty('check.position');
      });
  });

  it('ships when the approval was stamped before the deadline', () => {
    spec0
      .given(given)
      .when(checked([deadline - 1]), deadline + 9_000)
      .thenMatches(({ after }) => {
        expect(after.status).not.toBe('CANCELLED');
        expect(after.tasks.ship.status).toBe('QUEUED');
      });
  });

  it('cancels when it was stamped after the deadline', () => {
    spec0
      .given(given)
      .when(checked([deadline + 1]), deadline + 50)
      .thenMatches(({ after }) => {
        expect(after.status).toBe('CANCELLED');
        expect(after.cancelReason).toBe('cancelled by condition');
      });
  });

  it('a plain workflow sleep holds when its timer fires', () => {
    const plain: RunSpec = {
      name: 'later',
      kind: 'workflow',
      tasks: [aTask('later', { waitFor: [[{ kind: 'sleep', id: 'c0', ms: 400 }]] })],
    };
    spec0
      .given([triggered(plain), { type: 'TaskWaiting', taskName: 'later', at: 1_000 }])
      .when(
        { type: 'SleepElapsed', id: 's', taskName: 'later', conditionId: 'c0', generation: 0 },
        1_400,
      )
      .thenMatches(({ after, effects }) => {
        expect(after.tasks.later.status).toBe('QUEUED');
        expect(checks(effects)).toEqual([]);
      });
  });
});
