import { describe, expect, it } from 'vitest';
import { retryDelayMs, type TaskSpec } from './spec.js';

const task = (backoff?: TaskSpec['backoff']): TaskSpec => ({
  name: 'greet',
  retries: 5,
  backoff,
  executionTimeoutMs: 60_000,
  scheduleTimeoutMs: 300_000,
});

describe('retryDelayMs: the wait before retry n (1-based)', () => {
  it('is zero without backoff: the retry is queued at once', () => {
    expect([1, 2, 10].map((n) => retryDelayMs(task(), n))).toEqual([0, 0, 0]);
  });

  it('is factor^n seconds', () => {
    expect([1, 2, 3].map((n) => retryDelayMs(task({ factor: 2 }), n))).toEqual([
      2_000, 4_000, 8_000,
    ]);
    expect([1, 2].map((n) => retryDelayMs(task({ factor: 1.5 }), n))).toEqual([1_500, 2_250]);
  });

  it('uses factor 2 when only the cap is given', () => {
    expect(retryDelayMs(task({}), 3)).toBe(8_000);
    expect(retryDelayMs(task({ maxSeconds: 60 }), 2)).toBe(4_000);
  });

  it('never exceeds maxSeconds', () => {
    const capped = task({ factor: 3, maxSeconds: 5 });
    expect([1, 2, 3, 20].map((n) => retryDelayMs(capped, n))).toEqual([3_000, 5_000, 5_000, 5_000]);
  });
});
