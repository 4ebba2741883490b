import { describe, expect, it } from 'vitest';
import { toMs } from './duration.js';
import { ValidationError } from './errors.js';

describe('durations', () => {
  it('reads numbers as milliseconds and strings by unit', () => {
    expect(toMs(1500, 'x')).toBe(1500);
    expect(toMs('250ms', 'x')).toBe(250);
    expect(toMs('10s', 'x')).toBe(10_000);
    expect(toMs('5m', 'x')).toBe(300_000);
    expect(toMs('2h', 'x')).toBe(7_200_000);
    expect(toMs('1d', 'x')).toBe(86_400_000);
    expect(toMs('1h30m', 'x')).toBe(5_400_000);
    expect(toMs('1.5s', 'x')).toBe(1500);
  });

  it.each(['', '10', '10x', 's', '1h 30m', 'abc', -1, Number.NaN, Infinity])(
    'rejects %j naming the option',
    (bad) => {
      expect(() => toMs(bad as never, 'executionTimeout')).toThrow(ValidationError);
      expect(() => toMs(bad as never, 'executionTimeout')).toThrow(/executionTimeout/);
    },
  );
});
