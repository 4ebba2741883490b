/** A durable task's calls, gathered from the run's events (the state keeps only their count). */
import { describe, expect, it } from 'vitest';
import type { RunEvent } from './events.js';
import { lastGenerationCalls, RecordedCalls } from './recorded-calls.js';

const call = (taskName: string, position: number, result: unknown): RunEvent => ({
  type: 'DurableCallRecorded',
  taskName,
  position,
  kind: 'memo',
  callKey: 'k',
  result,
  at: position,
});
const replayed = { type: 'RunReplayed', at: 0 } as RunEvent;

describe('RecordedCalls', () => {
  it('keeps one task’s calls from a position on', () => {
    const recorded = new RecordedCalls('a', 0, 2);
    const events = [call('a', 0, 'x'), call('b', 0, 'y'), call('a', 1, 'z'), call('a', 2, 'w')];
    expect(events.map((e) => recorded.add(e))).toEqual([false, false, false, true]);
    expect(recorded.calls).toEqual([{ kind: 'memo', callKey: 'k', result: 'w' }]);
  });

  it('keeps only the generation asked for, and says when the events have passed it', () => {
    const recorded = new RecordedCalls('a', 1);
    for (const e of [call('a', 0, 'old'), replayed, call('a', 0, 'new')]) recorded.add(e);
    expect(recorded.calls.map((c) => c.result)).toEqual(['new']);
    expect(recorded.passed).toBe(false);
    recorded.add(replayed);
    expect(recorded.passed).toBe(true);
  });

  it('gives an offline replay the last generation', () => {
    const events = [call('a', 0, 1), call('a', 1, 2), replayed, call('a', 0, 3)];
    expect(lastGenerationCalls(events, 'a').map((c) => c.result)).toEqual([3]);
  });
});
