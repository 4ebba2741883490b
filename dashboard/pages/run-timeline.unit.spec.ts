import { describe, expect, it } from 'vitest';
import type { RunEventRecord } from '../../sdk/index.js';
import { timelineOf, timelineTable } from './run-timeline.js';

let seq = 0;
const ev = (type: string, at: number, data: Record<string, unknown> = {}): RunEventRecord => ({
  seq: ++seq,
  type,
  at: new Date(at),
  data,
});

describe('timelineOf', () => {
  it('follows each attempt from queued through started to its end', () => {
    const t = timelineOf(
      [
        ev('RunTriggered', 0),
        ev('TaskQueued', 0, { taskName: 'a', key: 'a/1', attempt: 1 }),
        ev('TaskStarted', 10, { taskName: 'a', key: 'a/1', attempt: 1, workerId: 'w1' }),
        ev('TaskFailed', 50, { taskName: 'a', key: 'a/1', final: false }),
        ev('TaskQueued', 60, { taskName: 'a', key: 'a/2', attempt: 2 }),
        ev('TaskStarted', 70, { taskName: 'a', key: 'a/2', attempt: 2, workerId: 'w2' }),
        ev('TaskSucceeded', 90, { taskName: 'a', key: 'a/2' }),
        ev('TaskQueued', 90, { taskName: 'b', key: 'b/1', attempt: 1 }),
        ev('RunCancelled', 100, { reason: 'x' }),
      ],
      5000,
    );
    expect(t.attempts).toEqual([
      expect.objectContaining({
        attempt: 1,
        startedAt: 10,
        endedAt: 50,
        outcome: 'failed',
        workerId: 'w1',
      }),
      expect.objectContaining({ attempt: 2, startedAt: 70, endedAt: 90, outcome: 'succeeded' }),
      expect.objectContaining({
        taskName: 'b',
        startedAt: null,
        endedAt: 100,
        outcome: 'cancelled',
      }),
    ]);
    expect([t.from, t.to]).toEqual([0, 100]);
  });

  it('draws a run still going up to now; a requeued attempt waits again', () => {
    const t = timelineOf(
      [
        ev('TaskQueued', 0, { taskName: 'a', key: 'k', attempt: 1 }),
        ev('TaskStarted', 5, { taskName: 'a', key: 'k', workerId: 'w' }),
        ev('TaskRequeued', 8, { taskName: 'a', key: 'k', workerId: 'w', reason: 'lost' }),
      ],
      200,
    );
    expect(t.attempts[0]).toMatchObject({ startedAt: null, outcome: 'open', workerId: null });
    expect(t.to).toBe(200);
    expect(timelineTable(t, 200).text).toContain('queued');
  });
});
