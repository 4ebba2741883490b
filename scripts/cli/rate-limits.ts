/** `skein rate-limits list|upsert`. */
import type { RateLimitDuration } from 'skein';
import {
  CLIENT_FLAGS,
  CONNECTION_USAGE,
  JSON_USAGE,
  parse,
  positionalsOf,
  UsageError,
  wholeNumber,
} from './args.js';
import { withSkein } from './client.js';
import { runGroup, type Subcommand } from './group.js';
import { listCommand } from './simple-commands.js';
import { ago, out, printJson, span } from './output.js';

const DURATIONS = ['second', 'minute', 'hour', 'day'];

const UPSERT_USAGE = `Usage: skein rate-limits upsert <key> --limit <n> --duration <second|minute|hour|day>

Creates or changes a rate limit (skein.rateLimits.upsert): at most <n> units in any span of
the duration, for the tasks naming it in rateLimits: [{ staticKey: '<key>', units }].

Options:
  --limit <n>              units allowed in the window (a whole number, at least 1)
  --duration <d>           second, minute, hour or day
${JSON_USAGE}
  -h, --help               show this help

${CONNECTION_USAGE}`;

const UPSERT_OPTIONS = {
  limit: { type: 'string' },
  duration: { type: 'string' },
  ...CLIENT_FLAGS,
} as const;

async function upsert(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, UPSERT_OPTIONS);
  if (values.help) {
    process.stdout.write(UPSERT_USAGE);
    return 0;
  }
  const [key] = positionalsOf(positionals, ['key'], 'skein rate-limits upsert');
  const limit = wholeNumber(values.limit, '--limit', 1, Number.MAX_SAFE_INTEGER);
  if (limit === undefined) throw new UsageError('skein rate-limits upsert needs --limit <n>');
  const duration = values.duration;
  if (duration === undefined || !DURATIONS.includes(duration))
    throw new UsageError(
      `--duration must be one of ${DURATIONS.join(', ')}, got ${duration === undefined ? 'none' : `'${duration}'`}`,
    );
  return withSkein(values, async (skein) => {
    await skein.rateLimits.upsert({ key, limit, duration: duration as RateLimitDuration });
    if (values.json) printJson({ key, limit, duration });
    else out(`rate limit ${key}: ${limit} per ${duration}\n`);
    return 0;
  });
}

const list = listCommand({
  command: 'skein rate-limits list',
  about: `The rate limits, with the units used in their current window (skein.rateLimits.list).`,
  none: 'no rate limits',
  fetch: (skein) => skein.rateLimits.list(),
  headings: ['KEY', 'LIMIT', 'PER', 'USED', 'WINDOW ENDS'],
  row: (l) => [l.key, String(l.limit), span(l.durationMs), String(l.used), ago(l.windowEndsAt)],
});

export const RATE_LIMITS: Record<string, Subcommand> = {
  list: { summary: 'list the rate limits and their use', run: list },
  upsert: { summary: 'create or change a rate limit', run: upsert },
};

export const rateLimitsCommand = (args: string[]) => runGroup('rate-limits', RATE_LIMITS, args);
