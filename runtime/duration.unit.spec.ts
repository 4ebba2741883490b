import { describe, expect, it } from 'vitest';
import { DEFAULT_RETENTION_MS, retentionMs } from './duration.js';
import { ValidationError } from './errors.js';

describe('retention periods', () => {
  it('read durations and milliseconds', () => {
    expect(retentionMs('90s', 'r')).toBe(90_000);
    expect(retentionMs('1m', 'r')).toBe(60_000);
    expect(retentionMs('7d', 'r')).toBe(DEFAULT_RETENTION_MS);
    expect(retentionMs(2_500, 'r')).toBe(2_500);
  });

  it('refuse what is not one, naming the option', () => {
    expect(() => retentionMs('a week', 'task: retention')).toThrow(
      /task: retention: "a week" is not a duration/,
    );
    expect(() => retentionMs(-1, 'r')).toThrow(ValidationError);
    expect(() => retentionMs('500ms', 'r')).toThrow(/r: "500ms" is too short/);
    expect(() => retentionMs(null, 'r')).toThrow(ValidationError);
  });
});
