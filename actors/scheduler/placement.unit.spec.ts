/** The scheduler and flow control: rate limits, worker labels and sticky workers. */
import { describe, expect, it } from 'vitest';
import { at, schedulerSpec, schedulerTurn } from '../testing/scheduler-spec.js';
import type { QueuedTask } from './queued-task.js';
import { waitingFor } from './placement.js';
import { GRANT_MARGIN_MS, initialSchedulerState } from './state.js';
import {
  defineLimit,
  dispatch,
  dispatched,
  done,
  enqueue,
  heartbeat,
  HIGH,
  tick,
} from './fixtures.js';

const spec = schedulerSpec();
const openai = (units = 1): Partial<QueuedTask> => ({ rateLimits: [{ key: 'openai', units }] });

describe('scheduler: rate limits', () => {
  it('starts at most `limit` units in a window; the rest wait without holding back others', () => {
    spec
      .given([defineLimit('openai', 2), enqueue('r1', openai()), enqueue('r2', openai())])
      .when(enqueue('r3', openai()), 10)
      .thenNothing();
    spec
      .given([
        defineLimit('openai', 2),
        enqueue('r1', openai()),
        enqueue('r2', openai()),
        enqueue('r3', openai()),
        enqueue('plain'),
      ])
      .when(heartbeat('w1', 10), 10)
      .thenMatches((turn) => {
        expect(dispatched(turn)).toEqual(['w1:r1', 'w1:r2', 'w1:plain']);
        expect(turn.pumped.wakeAt).toBe(10 + 1000 + GRANT_MARGIN_MS);
      });
  });

  it('is a sliding window: units come back one span after they were granted', () => {
    const history = [
      at(0, heartbeat('w1', 10)),
      at(0, defineLimit('openai', 2)),
      at(0, enqueue('r1', openai())),
      at(600, enqueue('r2', openai())),
      at(700, enqueue('r3', openai())),
    ];
    spec
      .given(history)
      .when(tick, 999 + GRANT_MARGIN_MS)
      .thenMatches((turn) => expect(dispatched(turn)).toEqual([]));
    spec
      .given(history)
      .when(tick, 1000 + GRANT_MARGIN_MS)
      .thenMatches((turn, state) => {
        expect(dispatched(turn)).toEqual(['w1:r3']);
        // r2's unit leaves the window at 1600
        expect(turn.pumped.wakeAt).toBeUndefined();
        expect(waitingFor(state, state.entries.get('r3')!, 1000 + GRANT_MARGIN_MS)).toBeUndefined();
      });
  });

  it('counts units: a task of 2 units waits where one of 1 goes', () => {
    spec
      .given([heartbeat('w1', 10), defineLimit('openai', 3), enqueue('r1', openai(2))])
      .when(enqueue('r2', openai(2)), 10)
      .thenNothing();
    spec
      .given([heartbeat('w1', 10), defineLimit('openai', 3), enqueue('r1', openai(2))])
      .when(enqueue('r2', openai(1)), 10)
      .then([dispatch('w1', 'r2', openai(1))]);
  });

  it('a static key with no definition waits until it is upserted, and says so', () => {
    spec
      .given([heartbeat('w1', 10)])
      .when(enqueue('r1', openai()), 10)
      .thenMatches((turn, state) => {
        expect(dispatched(turn)).toEqual([]);
        expect(waitingFor(state, state.entries.get('r1')!, 10)).toBe(
          "rate limit 'openai' (not defined: call skein.rateLimits.upsert)",
        );
      });
    spec
      .given([heartbeat('w1', 10), enqueue('r1', openai())])
      .when(defineLimit('openai', 1), 10)
      .then([dispatch('w1', 'r1', openai())]);
  });

  it('a dynamic key brings its own limit and span, one window per key', () => {
    const user = (id: string): Partial<QueuedTask> => ({
      rateLimits: [{ key: `user:${id}`, units: 1, limit: 1, durationMs: 60_000 }],
    });
    spec
      .given([heartbeat('w1', 10), enqueue('a1', user('a')), enqueue('a2', user('a'))])
      .when(enqueue('b1', user('b')), 10)
      .thenMatches((turn, state) => {
        expect(dispatched(turn)).toEqual(['w1:b1']);
        expect(waitingFor(state, state.entries.get('a2')!, 10)).toBe(
          "rate limit 'user:a' (1 per minute)",
        );
      });
  });

  it('explains units the limit can never grant', () => {
    spec
      .given([heartbeat('w1', 10), defineLimit('openai', 2)])
      .when(enqueue('r1', openai(5)), 10)
      .thenMatches((_turn, state) => {
        expect(waitingFor(state, state.entries.get('r1')!, 10)).toBe(
          "rate limit 'openai' (2 per second), which can never grant 5 units",
        );
      });
  });

  it('after a leader change, task runs a heartbeat claims count against their windows', () => {
    const rebuilt = schedulerSpec({ holdMs: 5000 });
    rebuilt
      .given([
        defineLimit('openai', 1),
        enqueue('r1', openai(), true),
        heartbeat('w1', 5, { running: ['r1'] }),
      ])
      .when(enqueue('r2', openai()), 10)
      .thenNothing();
  });

  it('forgets expired grants on a tick', () => {
    const state = initialSchedulerState(0, 0);
    schedulerTurn(state, heartbeat('w1', 10), 0);
    schedulerTurn(
      state,
      enqueue('d1', { rateLimits: [{ key: 'k', units: 1, limit: 5, durationMs: 100 }] }),
      0,
    );
    expect(state.rateLimits.get('k')?.grants).toHaveLength(1);
    schedulerTurn(state, tick, 200 + GRANT_MARGIN_MS);
    expect(state.rateLimits.has('k')).toBe(false);
  });
});

const gpu = (required: boolean, weight?: number): Partial<QueuedTask> => ({
  desiredLabels: { gpu: { value: 'a100', required, weight } },
});

describe('scheduler: worker labels', () => {
  it('never sends a task to a worker without its required labels; it waits and says why', () => {
    spec
      .given([heartbeat('cpu', 10, { labels: { gpu: 'none' } })])
      .when(enqueue('t1', gpu(true)), 10)
      .thenMatches((turn, state) => {
        expect(dispatched(turn)).toEqual([]);
        expect(waitingFor(state, state.entries.get('t1')!, 10)).toBe(
          'a worker with labels gpu=a100 (required)',
        );
      });
    spec
      .given([heartbeat('cpu', 10), enqueue('t1', gpu(true))])
      .when(heartbeat('big', 1, { labels: { gpu: 'a100' } }), 10)
      .then([dispatch('big', 't1', gpu(true))]);
  });

  it('prefers the worker matching more weight, before the one with more free slots', () => {
    spec
      .given([heartbeat('cpu', 10), heartbeat('big', 1, { labels: { gpu: 'a100' } })])
      .when(enqueue('t1', gpu(false)), 10)
      .then([dispatch('big', 't1', gpu(false))]);
    const wishes: Partial<QueuedTask> = {
      desiredLabels: {
        region: { value: 'eu', weight: 10 },
        memory: { value: 32, comparator: 'GREATER_THAN_OR_EQUAL', weight: 50 },
      },
    };
    spec
      .given([
        heartbeat('eu', 5, { labels: { region: 'eu', memory: 16 } }),
        heartbeat('us', 1, { labels: { region: 'us', memory: 64 } }),
      ])
      .when(enqueue('t1', wishes), 10)
      .then([dispatch('us', 't1', wishes)]);
  });

  it('compares numbers as numbers', () => {
    const wish = (comparator: 'GREATER_THAN' | 'LESS_THAN'): Partial<QueuedTask> => ({
      desiredLabels: { memory: { value: 32, comparator, required: true } },
    });
    spec
      .given([heartbeat('w1', 1, { labels: { memory: 64 } })])
      .when(enqueue('t1', wish('GREATER_THAN')), 10)
      .then([dispatch('w1', 't1', wish('GREATER_THAN'))]);
    spec
      .given([heartbeat('w1', 1, { labels: { memory: '64' } })])
      .when(enqueue('t1', wish('LESS_THAN')), 10)
      .thenNothing();
  });
});

describe('scheduler: sticky workers', () => {
  const hard: Partial<QueuedTask> = { sticky: { strategy: 'hard', workerId: 'w1' } };
  const soft: Partial<QueuedTask> = { sticky: { strategy: 'soft', workerId: 'w1' } };

  it('soft: its worker when it has a free slot, else any', () => {
    spec
      .given([heartbeat('w1', 1), heartbeat('w2', 5)])
      .when(enqueue('s1', soft), 10)
      .then([dispatch('w1', 's1', soft)]);
    spec
      .given([heartbeat('w1', 1, { running: ['busy'] }), enqueue('busy'), heartbeat('w2', 5)])
      .when(enqueue('s1', soft), 10)
      .then([dispatch('w2', 's1', soft)]);
  });

  it('hard: waits for its worker, even with others free, and goes there once a slot frees', () => {
    const history = [heartbeat('w1', 1), enqueue('busy'), heartbeat('w2', 5)];
    spec
      .given(history)
      .when(enqueue('h1', hard), 10)
      .thenMatches((turn, state) => {
        expect(dispatched(turn)).toEqual([]);
        expect(waitingFor(state, state.entries.get('h1')!, 10)).toBe('worker w1 (sticky: hard)');
      });
    spec
      .given([...history, enqueue('h1', hard)])
      .when(done('busy'), 10)
      .then([{ type: 'ack', key: 'busy' }, dispatch('w1', 'h1', hard)]);
  });

  it('before the run knows its worker, keeps the run’s task runs where the first one went', () => {
    const root = (over: Partial<QueuedTask> = {}): Partial<QueuedTask> => ({
      runId: 'run-x',
      sticky: { strategy: 'hard' },
      ...over,
    });
    // two roots placed in one pump: the second follows the first, though w2 has more room
    spec
      .given([enqueue('a', root()), enqueue('b', root()), heartbeat('w1', 2)])
      .when(heartbeat('w2', 5), 10)
      .thenMatches((turn) => expect(dispatched(turn)).toEqual([]));
    spec
      .given([heartbeat('w1', 2), heartbeat('w2', 1)])
      .when(enqueue('a', root()), 10)
      .then([dispatch('w1', 'a', root())]);
    spec
      .given([heartbeat('w1', 1), enqueue('a', root()), heartbeat('w2', 5)])
      .when(enqueue('b', root()), 10)
      .thenMatches((turn, state) => {
        expect(dispatched(turn)).toEqual([]);
        expect(waitingFor(state, state.entries.get('b')!, 10)).toBe('worker w1 (sticky: hard)');
      });
    spec
      .given([heartbeat('w1', 1), enqueue('a', root()), heartbeat('w2', 3), enqueue('b', root())])
      .when(done('a'), 10)
      .then([{ type: 'ack', key: 'a' }, dispatch('w1', 'b', root())]);
    // placed in one pump (after a leader change's hold): b follows a, though w2 has more room then
    schedulerSpec({ holdMs: 100 })
      .given([
        heartbeat('w1', 2),
        heartbeat('w2', 2),
        enqueue('a', root(), true),
        enqueue('b', root(), true),
      ])
      .when(tick, 200)
      .thenMatches((turn) => expect(dispatched(turn)).toEqual(['w1:a', 'w1:b']));
    spec
      .given([heartbeat('w1', 5), heartbeat('w2', 5, { running: [] })])
      .when(enqueue('a', root()), 10)
      .thenMatches((turn, state) => {
        expect(state.stickyRuns.get('run-x')).toEqual({
          workerId: dispatched(turn)[0].split(':')[0],
          entries: 1,
        });
      });
  });

  it('hard: says so when its worker is lost', () => {
    spec
      .given([heartbeat('w1', 1), heartbeat('w2', 5), { type: 'WorkerLeft', workerId: 'w1' }])
      .when(enqueue('h1', hard), 10)
      .thenMatches((turn, state) => {
        expect(dispatched(turn)).toEqual([]);
        expect(waitingFor(state, state.entries.get('h1')!, 10)).toMatch(
          /^worker w1 \(sticky: hard; it is lost/,
        );
      });
  });

  it('a blocked sticky or labelled task does not hold back others of higher age', () => {
    spec
      .given([
        heartbeat('w1', 0),
        enqueue('h1', { ...hard, priority: HIGH }),
        enqueue('t1', gpu(true)),
      ])
      .when(heartbeat('w2', 5, { labels: { gpu: 'a100' } }), 10)
      .then([dispatch('w2', 't1', gpu(true))]);
  });
});
