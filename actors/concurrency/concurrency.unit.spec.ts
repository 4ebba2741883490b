/** A concurrency group: slots per key, and what each strategy does to a newcomer when they are taken. */
import { describe, expect, it } from 'vitest';
import { deciderSpec } from '../testing/decider-spec.js';
import type { ConcurrencyEvent } from './events.js';
import { concurrencyActor } from './index.js';
import type { ConcurrencyMessage, ConcurrencyStrategy } from './messages.js';

const GROUP = 'orders|0|user-1';
const spec = deciderSpec(concurrencyActor, GROUP);

const acquire = (
  n: number,
  strategy: ConcurrencyStrategy = 'GROUP_ROUND_ROBIN',
  maxRuns = 2,
): ConcurrencyMessage => ({
  type: 'Acquire',
  id: `acquire-${n}`,
  holder: `run-${n}#0`,
  runId: `run-${n}`,
  maxRuns,
  strategy,
});
const release = (n: number): ConcurrencyMessage => ({
  type: 'Release',
  id: `release-${n}`,
  holder: `run-${n}#0`,
});
const limit = (
  strategy: ConcurrencyStrategy = 'GROUP_ROUND_ROBIN',
  maxRuns = 2,
): ConcurrencyEvent => ({
  type: 'LimitSet',
  maxRuns,
  strategy,
});
const granted = (n: number, at = 0): ConcurrencyEvent => ({
  type: 'SlotGranted',
  holder: `run-${n}#0`,
  runId: `run-${n}`,
  since: at,
});
const queued = (n: number, at = 0): ConcurrencyEvent => ({
  type: 'SlotQueued',
  holder: `run-${n}#0`,
  runId: `run-${n}`,
  since: at,
});
const tells = (runId: string, type: string) =>
  expect.objectContaining({
    type: 'send',
    to: { type: 'run', id: runId },
    message: expect.objectContaining({ type }),
  });

describe('a concurrency group', () => {
  it('grants up to maxRuns slots, then queues newcomers in order', () => {
    spec.when(acquire(1), 5).then([limit(), granted(1, 5)], [tells('run-1', 'ConcurrencyGranted')]);
    spec
      .given([limit(), granted(1), granted(2)])
      .when(acquire(3), 7)
      .then([queued(3, 7)], []);
  });

  it('gives a released slot to the first in line', () => {
    spec
      .given([limit(), granted(1), granted(2), queued(3), queued(4)])
      .when(release(1), 9)
      .then(
        [{ type: 'SlotReleased', holder: 'run-1#0' }, granted(3, 0)],
        [tells('run-3', 'ConcurrencyGranted')],
      );
  });

  it('ignores a repeated acquire and an unknown release', () => {
    spec
      .given([limit(), granted(1)])
      .when(acquire(1), 9)
      .thenNothing();
    spec
      .given([limit(), granted(1)])
      .when(release(7), 9)
      .thenNothing();
  });

  it('CANCEL_IN_PROGRESS: the newcomer waits while the oldest running one is cancelled', () => {
    spec
      .given([limit('CANCEL_IN_PROGRESS', 1), granted(1)])
      .when(acquire(2, 'CANCEL_IN_PROGRESS', 1), 5)
      .thenMatches(({ events, effects, after }) => {
        expect(events.map((e) => e.type)).toEqual(['SlotQueued', 'HolderCancelled']);
        expect(effects).toEqual([tells('run-1', 'Cancel')]);
        expect(after.cancelling).toEqual(['run-1#0']);
      });
    // A third newcomer: the second (waiting, older) is cancelled too; the first is not cancelled twice.
    spec
      .given([
        limit('CANCEL_IN_PROGRESS', 1),
        granted(1),
        queued(2),
        { type: 'HolderCancelled', holder: 'run-1#0', runId: 'run-1', at: 5 },
      ])
      .when(acquire(3, 'CANCEL_IN_PROGRESS', 1), 6)
      .thenMatches(({ effects, after }) => {
        expect(effects).toEqual([tells('run-2', 'Cancel')]);
        expect(after.cancelling).toEqual(['run-1#0', 'run-2#0']);
      });
    // When the cancelled holders release, the newest gets the slot.
    spec
      .given([
        limit('CANCEL_IN_PROGRESS', 1),
        granted(1),
        queued(2),
        queued(3),
        { type: 'HolderCancelled', holder: 'run-1#0', runId: 'run-1', at: 5 },
        { type: 'HolderCancelled', holder: 'run-2#0', runId: 'run-2', at: 6 },
      ])
      .when(release(1), 7)
      .thenMatches(({ effects }) =>
        expect(effects).toEqual([tells('run-3', 'ConcurrencyGranted')]),
      );
  });

  it('CANCEL_NEWEST: the running ones finish, the newcomer is cancelled', () => {
    spec
      .given([limit('CANCEL_NEWEST', 1), granted(1)])
      .when(acquire(2, 'CANCEL_NEWEST', 1), 5)
      .then(
        [{ type: 'SlotRefused', holder: 'run-2#0', runId: 'run-2', at: 5 }],
        [tells('run-2', 'Cancel')],
      );
  });

  it('takes a new limit from the next request', () => {
    spec
      .given([limit('GROUP_ROUND_ROBIN', 1), granted(1)])
      .when(acquire(2, 'GROUP_ROUND_ROBIN', 2), 5)
      .then([limit('GROUP_ROUND_ROBIN', 2), granted(2, 5)], [tells('run-2', 'ConcurrencyGranted')]);
  });
});
