import { describe, expect, it } from 'vitest';
import { eventKeyMatches, eventPatternProblem } from './match.js';

describe('onEvents patterns', () => {
  it('match a key exactly, or by prefix with a trailing *', () => {
    expect(eventKeyMatches('order:created', 'order:created')).toBe(true);
    expect(eventKeyMatches('order:created', 'order:created:v2')).toBe(false);
    expect(eventKeyMatches('order:*', 'order:paid')).toBe(true);
    expect(eventKeyMatches('order:*', 'orders:paid')).toBe(false);
    expect(eventKeyMatches('*', 'anything')).toBe(true);
  });

  it('refuses empty patterns and a * anywhere but the end', () => {
    expect(eventPatternProblem('order:*')).toBeUndefined();
    expect(eventPatternProblem('')).toMatch(/non-empty/);
    expect(eventPatternProblem('order:*:paid')).toMatch(/may only end a pattern/);
  });
});
