/** A worker's waiting durable tasks: what a dispatch of one it holds does to it. */
import { describe, expect, it } from 'vitest';
import { task } from '../actors/scheduler/fixtures.js';
import type { QueuedTask } from '../actors/scheduler/queued-task.js';
import { SuspendedTasks } from './suspended-tasks.js';

/** Dispatches of one run's durable task: the first under `k1`, its resumptions `k1~<n>`. */
const durable = (key: string, over: Partial<QueuedTask> = {}) =>
  task(key, { durable: true, runId: 'run-1', ...over });

function holding(key: string, position: number) {
  const suspended = new SuspendedTasks(() => undefined);
  const seen = {
    resumedWith: undefined as QueuedTask | undefined,
    evicted: undefined as unknown,
    waitsSentAgain: 0,
  };
  suspended.hold(
    durable(key),
    {
      position,
      allowCapacityEviction: true,
      resume: (t) => (seen.resumedWith = t),
      evict: (reason) => (seen.evicted = reason),
      sendWaitAgain: () => seen.waitsSentAgain++,
    },
    60_000,
  );
  return { suspended, seen };
}

describe('a durable task held suspended on its worker', () => {
  it('is listed by the queue key it was dispatched under until its run recorded the wait', () => {
    const { suspended } = holding('k1', 2);
    expect(suspended.unrecordedKeys()).toEqual(['k1']);
    suspended.waitRecorded(durable('k0'));
    expect(suspended.unrecordedKeys()).toEqual(['k1']);
    suspended.waitRecorded(durable('k1'));
    expect(suspended.unrecordedKeys()).toEqual([]);
  });

  it('dispatched again under that key (taken for lost), it stays held: no replay', () => {
    const { suspended, seen } = holding('k1', 2);
    expect(suspended.resume(durable('k1'))).toBe(true);
    expect(seen).toEqual({ resumedWith: undefined, evicted: undefined, waitsSentAgain: 0 });
    expect(suspended.unrecordedKeys()).toEqual(['k1']);
  });

  // Seen in the partition test: a wait answered but not stored left the task dispatched again
  // every few seconds, for ever, while the worker ignored each dispatch.
  it('dispatched again under that key after its run answered the wait, it sends the wait again', () => {
    const { suspended, seen } = holding('k1', 2);
    suspended.waitRecorded(durable('k1'));
    expect(suspended.resume(durable('k1'))).toBe(true);
    expect(seen).toEqual({ resumedWith: undefined, evicted: undefined, waitsSentAgain: 1 });
    expect(suspended.unrecordedKeys()).toEqual(['k1']);
  });

  it('resumes with the result its resumption brings', () => {
    const { suspended, seen } = holding('k1', 2);
    const resumption = durable('k1~1', { resume: { position: 2, result: 'r' } });
    expect(suspended.resume(resumption)).toBe(true);
    expect(seen.resumedWith).toBe(resumption);
    expect(suspended.unrecordedKeys()).toEqual([]);
  });

  it('is dropped for a dispatch of another key that does not resume its wait', () => {
    const { suspended, seen } = holding('k1', 2);
    expect(suspended.resume(durable('k1~1', { resume: { position: 1, result: 'r' } }))).toBe(false);
    expect(seen.evicted).toBe('dispatched again without its wait resolved');
    expect(suspended.unrecordedKeys()).toEqual([]);
  });
});
