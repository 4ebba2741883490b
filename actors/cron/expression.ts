/**
 * Cron expressions: 5 fields (minute hour day-of-month month day-of-week) or one of the
 * aliases below, evaluated in a timezone (default UTC). Pure: the same answers everywhere.
 */
import { CronExpressionParser } from 'cron-parser';

const ALIASES: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

export const DEFAULT_TIMEZONE = 'UTC';
const NAMES = /\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|sun|mon|tue|wed|thu|fri|sat)\b/gi;

function fields(expression: string): string {
  const trimmed = expression.trim();
  return ALIASES[trimmed.toLowerCase()] ?? trimmed;
}

/** Why the expression or timezone is unusable, or undefined when both are fine. */
export function cronProblem(expression: unknown, timezone = DEFAULT_TIMEZONE): string | undefined {
  if (typeof expression !== 'string' || expression.trim() === '')
    return `cron expression must be a non-empty string, got ${JSON.stringify(expression)}`;
  if (typeof timezone !== 'string' || !validTimezone(timezone))
    return `unknown timezone ${JSON.stringify(timezone)}: use an IANA name such as 'Europe/Paris'`;
  const f = fields(expression);
  if (f.startsWith('@'))
    return `unknown cron alias '${expression}': use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly`;
  if (f.split(/\s+/).length !== 5)
    return `cron expression '${expression}' must have 5 fields (minute hour day-of-month month day-of-week)`;
  // 'H' picks a random value per parse: every engine would see a different schedule.
  if (/h/i.test(f.replace(NAMES, '')))
    return `cron expression '${expression}': 'H' (random value) is not supported`;
  try {
    CronExpressionParser.parse(f, { tz: timezone, strict: false }).next();
  } catch (err) {
    return `cron expression '${expression}' is invalid: ${(err as Error).message}`;
  }
  return undefined;
}

function validTimezone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/** The first tick strictly after `after`. */
export function nextTick(expression: string, timezone: string, after: number): number {
  return CronExpressionParser.parse(fields(expression), { tz: timezone, currentDate: after })
    .next()
    .getTime();
}

/** The last tick at or before `atOrBefore`. */
export function latestTick(expression: string, timezone: string, atOrBefore: number): number {
  return CronExpressionParser.parse(fields(expression), {
    tz: timezone,
    currentDate: atOrBefore + 1,
  })
    .prev()
    .getTime();
}
