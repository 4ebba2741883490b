/** Durations: a number of milliseconds, or a string such as '250ms', '10s', '1h30m', '1d'. */
import { ValidationError } from './errors.js';

export type Duration = number | string;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** Milliseconds in `value`; throws ValidationError naming `option` when it is not a duration. */
export function toMs(value: Duration, option: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
  } else if (typeof value === 'string' && value.length > 0) {
    let total = 0;
    let consumed = 0;
    for (const match of value.matchAll(PART)) {
      if (match.index !== consumed) break;
      total += Number(match[1]) * UNIT_MS[match[2]];
      consumed += match[0].length;
    }
    if (consumed === value.length) return total;
  }
  throw new ValidationError(
    `${option}: ${JSON.stringify(value)} is not a duration; use milliseconds (a number) or a string like '250ms', '10s', '5m', '2h', '1d', '1h30m'`,
  );
}

/** How long a finished run is kept when neither its task nor workflow says otherwise. */
export const DEFAULT_RETENTION_MS = 7 * UNIT_MS.d;
/** A run is kept at least this long after it finished (a waiting client still reads its result). */
export const MIN_RETENTION_MS = UNIT_MS.s;

/** A retention period in milliseconds; a ValidationError naming `option` when it is not one. */
export function retentionMs(value: unknown, option: string): number {
  const ms = Math.round(toMs(value as Duration, option));
  if (ms < MIN_RETENTION_MS)
    throw new ValidationError(
      `${option}: ${JSON.stringify(value)} is too short; a finished run is kept at least 1s`,
    );
  return ms;
}
