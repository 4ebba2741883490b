import { describe, expect, it } from 'vitest';
import { decideTimer, type Timer } from './timer.js';

const timer = (dueAt: number): Timer => ({
  timerId: 't1',
  dueAt,
  to: { type: 'run', id: 'r1' },
  message: { type: 'RetryDue', id: 'm1' },
});

describe('timer actor', () => {
  it('fires a timer that is due or overdue', () => {
    expect(decideTimer(timer(1000), 1000)).toEqual({ type: 'fire' });
    expect(decideTimer(timer(1000), 5000)).toEqual({ type: 'fire' });
  });
  it('waits exactly the remaining time for a future timer', () => {
    expect(decideTimer(timer(10_000), 1000)).toEqual({ type: 'wait', delayMs: 9000 });
  });
});
