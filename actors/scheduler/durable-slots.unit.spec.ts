/** The scheduler and durable tasks: durable slots apart from slots, and where a resumed task goes. */
import { describe, it } from 'vitest';
import { schedulerSpec } from '../testing/scheduler-spec.js';
import { dispatch, enqueue, heartbeat } from './fixtures.js';

const spec = schedulerSpec();
const durable = { durable: true };

describe('scheduler: durable tasks', () => {
  it('fills durable slots and plain slots independently', () => {
    const worker = heartbeat('w1', 1, { durableSlots: 2 });
    spec
      .given([worker, enqueue('plain-1'), enqueue('d1', durable)])
      .when(enqueue('d2', durable), 10)
      .then([dispatch('w1', 'd2', durable)]);
    spec
      .given([worker, enqueue('d1', durable), enqueue('d2', durable)])
      .when(enqueue('d3', durable), 10)
      .thenNothing();
    spec
      .given([worker, enqueue('d1', durable), enqueue('d2', durable)])
      .when(enqueue('plain-1'), 10)
      .then([dispatch('w1', 'plain-1')]);
  });

  it('counts waiting tasks a worker may not evict against its durable slots', () => {
    spec
      .given([heartbeat('w1', 5, { durableSlots: 1, pinned: ['run-x/a'] })])
      .when(enqueue('d1', durable), 10)
      .thenNothing();
  });

  it('sends a resumed task back to the worker that holds it, even when that worker is full', () => {
    const resumed = { ...durable, runId: 'run-x', preferredWorkerId: 'w1' };
    spec
      .given([
        heartbeat('w1', 5, { durableSlots: 1, pinned: ['run-x/a'] }),
        heartbeat('w2', 5, { durableSlots: 5 }),
      ])
      .when(enqueue('x~1', resumed), 10)
      .then([dispatch('w1', 'x~1', resumed)]);
  });

  it('prefers the worker a resumed task last ran on while it has room', () => {
    const resumed = { ...durable, preferredWorkerId: 'w1' };
    spec
      .given([heartbeat('w1', 5, { durableSlots: 2 }), heartbeat('w2', 5, { durableSlots: 9 })])
      .when(enqueue('k~1', resumed), 10)
      .then([dispatch('w1', 'k~1', resumed)]);
    spec
      .given([
        heartbeat('w1', 5, { durableSlots: 1 }),
        heartbeat('w2', 5, { durableSlots: 9 }),
        enqueue('other', { ...durable, preferredWorkerId: 'w1' }),
      ])
      .when(enqueue('k~1', resumed), 10)
      .then([dispatch('w2', 'k~1', resumed)]);
  });
});
