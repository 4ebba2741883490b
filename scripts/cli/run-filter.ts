/** The run index's filters as flags: `skein runs list` and the `--all-matching` actions. */
import type { RunFilter, RunStatus } from 'skein';
import { toMs } from '../../runtime/duration.js';
import { pairsOf, UsageError } from './args.js';

export const FILTER_FLAGS = {
  status: { type: 'string', multiple: true },
  name: { type: 'string', multiple: true },
  meta: { type: 'string', multiple: true },
  since: { type: 'string' },
  until: { type: 'string' },
  parent: { type: 'string' },
  worker: { type: 'string' },
  error: { type: 'string' },
  retrying: { type: 'boolean' },
} as const;

export const FILTER_USAGE = `Filters (combined with AND):
  --status <s>             QUEUED, RUNNING, COMPLETED, FAILED or CANCELLED (repeatable, or a comma list)
  --name <name>            the task or workflow name (repeatable, or a comma list)
  --meta <k=v>             additional metadata (repeatable: every pair must match)
  --since <when>           created at or after: a span back from now ('30s', '15m', '1h', '2d') or an ISO time
  --until <when>           created at or before (same forms)
  --parent <runId>         children of this run
  --worker <workerId>      runs a task of which this worker started
  --error <text>           in the error class or message (case-insensitive)
  --retrying               still going, with failed attempts behind it
`;

const STATUSES: RunStatus[] = ['QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'];

type FilterValues = {
  status?: string[];
  name?: string[];
  meta?: string[];
  since?: string;
  until?: string;
  parent?: string;
  worker?: string;
  error?: string;
  retrying?: boolean;
};

const listOf = (values: string[] | undefined) =>
  (values ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);

/** '1h' back from `now`, or an ISO date; anything else names the flag. */
export function timeFlag(
  value: string | undefined,
  flag: string,
  now = Date.now(),
): Date | undefined {
  if (value === undefined) return undefined;
  if (/^\d+(\.\d+)?(ms|s|m|h|d)/.test(value)) {
    try {
      return new Date(now - toMs(value, flag));
    } catch {
      // not a span after all: read it as a date below
    }
  }
  const at = /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : new Date(NaN);
  if (Number.isNaN(at.getTime()))
    throw new UsageError(
      `${flag} takes a span back from now ('30s', '15m', '1h', '2d') or an ISO time ('2026-12-03T10:00:00Z'), got '${value}'`,
    );
  return at;
}

export function runFilterOf(values: FilterValues): RunFilter {
  const status = listOf(values.status).map((s) => {
    const upper = s.toUpperCase() as RunStatus;
    if (!STATUSES.includes(upper))
      throw new UsageError(`--status must be one of ${STATUSES.join(', ')}, got '${s}'`);
    return upper;
  });
  const name = listOf(values.name);
  const meta = pairsOf(values.meta, '--meta');
  const filter: RunFilter = {};
  if (status.length > 0) filter.status = status;
  if (name.length > 0) filter.name = name;
  if (Object.keys(meta).length > 0) filter.additionalMetadata = meta;
  const since = timeFlag(values.since, '--since');
  const until = timeFlag(values.until, '--until');
  if (since) filter.since = since;
  if (until) filter.until = until;
  if (values.parent !== undefined) filter.parentRunId = values.parent;
  if (values.worker !== undefined) filter.workerId = values.worker;
  if (values.error !== undefined) filter.errorContains = values.error;
  if (values.retrying) filter.retrying = true;
  return filter;
}

/** True when no filter flag was given (an `--all-matching` over every run must say so). */
export const isEmptyFilter = (filter: RunFilter) => Object.keys(filter).length === 0;
