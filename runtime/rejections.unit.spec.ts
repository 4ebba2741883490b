import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { idProblem } from './bounds.js';
import { FORMAT_VERSION, NewerFormatError } from './format.js';
import {
  guarded,
  NEWER_FORMAT,
  rejected,
  rejectionCounts,
  REJECTION_LOG_INTERVAL_MS,
} from './rejections.js';

function recording() {
  const lines: { msg: string; reason: string; rejected?: number }[] = [];
  const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  return { logger, lines };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('rejections', () => {
  it('counts every rejection, and logs the first per reason then one summary per interval', () => {
    vi.useFakeTimers();
    const { logger, lines } = recording();
    for (let i = 0; i < 1000; i++) rejected(logger, 'a', new Error(`bad ${i}`));
    rejected(logger, 'b', 'also bad');
    expect(rejectionCounts(logger)).toEqual({ a: 1000, b: 1 });
    expect(lines.map((l) => l.reason)).toEqual(['a', 'b']);
    vi.advanceTimersByTime(REJECTION_LOG_INTERVAL_MS);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ reason: 'a', rejected: 999 });
  });

  it('keeps counts apart per logger', () => {
    const one = recording().logger;
    const two = recording().logger;
    rejected(one, 'x');
    expect(rejectionCounts(two)).toEqual({});
  });

  it('counts records of a newer Skein under one reason, whatever their kind, and logs that once', () => {
    vi.useFakeTimers();
    const { logger, lines } = recording();
    rejected(logger, 'journal-malformed', new NewerFormatError(FORMAT_VERSION + 1, 'journal'));
    rejected(logger, 'inbox-malformed', new NewerFormatError(FORMAT_VERSION + 1, 'inbox'));
    rejected(logger, 'inbox-malformed', new NewerFormatError(FORMAT_VERSION + 2, 'inbox'));
    vi.advanceTimersByTime(10 * REJECTION_LOG_INTERVAL_MS);
    expect(rejectionCounts(logger)).toEqual({ [NEWER_FORMAT]: 3 });
    expect(lines).toHaveLength(1);
    expect(lines[0].msg).toMatch(/written by a newer Skein/);
  });

  it('a guarded callback swallows throws and rejections, counting them', async () => {
    const { logger } = recording();
    const msg = {} as never;
    guarded(logger, 'sync', () => {
      throw new Error('boom');
    })(null, msg);
    guarded(logger, 'async', () => Promise.reject(new Error('boom')))(null, msg);
    await vi.waitFor(() => expect(rejectionCounts(logger)).toEqual({ sync: 1, async: 1 }));
  });
});

describe('id bounds', () => {
  it('take non-empty strings of at most 255 bytes without control characters', () => {
    expect(idProblem('runId', 'r'.repeat(255))).toBeUndefined();
    expect(idProblem('runId', 'ü'.repeat(127))).toBeUndefined();
    expect(idProblem('runId', 'ü'.repeat(128))).toMatch(/256 bytes/);
    expect(idProblem('runId', '')).toMatch(/non-empty/);
    expect(idProblem('runId', 42)).toMatch(/non-empty string/);
    expect(idProblem('runId', 'a\nb')).toMatch(/control/);
  });
});
