/** Which condition of a wait held first, in the time of the events. */
import { describe, expect, it } from 'vitest';
import { checkOf, heldInOrder, openDeadline, placeEvent, type WaitView } from './event-time.js';
import type { ConditionSpec } from './spec.js';

const timeout: ConditionSpec = { kind: 'sleep', id: 'timeout', ms: 10_000 };
const approval: Extract<ConditionSpec, { kind: 'event' }> = {
  kind: 'event',
  id: 'approval',
  eventKey: 'order:approved',
  expression: "input.orderId == 'o-1'",
};
const race: WaitView = { conditions: [timeout, approval], startedAt: 1_000, met: [] };
const found = (at: number, orderId = 'o-1') => ({
  conditionId: 'approval',
  eventId: `e-${at}`,
  at,
  payload: { orderId },
});

describe('a wait whose sleep races its events', () => {
  it('has the deadline recorded when it began, until the sleep held', () => {
    expect(openDeadline(race)).toBe(11_000);
    expect(openDeadline({ ...race, met: ['timeout'] })).toBeUndefined();
    expect(openDeadline({ ...race, conditions: [timeout] })).toBeUndefined(); // a plain sleep
    expect(openDeadline({ ...race, met: ['approval'] })).toBeUndefined(); // nothing left to race
  });

  it('takes an event stamped from its start to its deadline at once, one after it only after the deadline', () => {
    expect(placeEvent(race, approval, 5_000, { orderId: 'o-1' })).toBe('now');
    expect(placeEvent(race, approval, 11_000, { orderId: 'o-1' })).toBe('now');
    expect(placeEvent(race, approval, 11_001, { orderId: 'o-1' })).toBe('afterDeadline');
    expect(placeEvent(race, approval, 999, { orderId: 'o-1' })).toBe('ignore');
    expect(placeEvent(race, approval, 5_000, { orderId: 'o-2' })).toBe('ignore');
    expect(placeEvent({ ...race, met: ['timeout'] }, approval, 20_000, { orderId: 'o-1' })).toBe(
      'now',
    );
  });

  it('honours an event condition’s since', () => {
    const since = { ...approval, sinceMs: 500 };
    expect(
      placeEvent({ ...race, conditions: [timeout, since] }, since, 600, { orderId: 'o-1' }),
    ).toBe('now');
  });

  it('orders what a check found with the deadlines it passed, an event first on a tie', () => {
    expect(heldInOrder(race, 11_050, [found(10_999)]).map((h) => h.conditionId)).toEqual([
      'approval',
      'timeout',
    ]);
    expect(heldInOrder(race, 11_050, [found(11_000)])[0].conditionId).toBe('approval');
    expect(heldInOrder(race, 11_050, [found(11_001)]).map((h) => h.conditionId)).toEqual([
      'timeout',
      'approval',
    ]);
    expect(heldInOrder(race, 11_050, [])).toEqual([{ conditionId: 'timeout', at: 11_000 }]);
  });

  it('leaves an event after a deadline beyond the horizon to that deadline’s check', () => {
    const two: WaitView = {
      ...race,
      conditions: [{ kind: 'sleep', id: 'late', ms: 20_000 }, ...race.conditions],
      met: ['timeout'],
    };
    expect(heldInOrder(two, 15_000, [found(21_500)])).toEqual([]);
    expect(heldInOrder(two, 15_000, [found(14_000)]).map((h) => h.conditionId)).toEqual([
      'approval',
    ]);
  });

  it('ignores found events from before the wait, or that do not match', () => {
    expect(heldInOrder(race, 11_050, [found(900), found(5_000, 'o-2')])).toEqual([
      { conditionId: 'timeout', at: 11_000 },
    ]);
  });

  it('asks to check the events of its unmet event conditions, since the wait began', () => {
    const target = { id: 'checked:x', runId: 'r', taskName: 't', generation: 0, horizon: 11_000 };
    expect(checkOf(race, target)).toEqual({
      type: 'checkEvents',
      check: {
        ...target,
        conditions: [
          {
            conditionId: 'approval',
            eventKey: 'order:approved',
            sinceMs: 1_000,
            expression: approval.expression,
            scope: undefined,
          },
        ],
      },
    });
  });
});
