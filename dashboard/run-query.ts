/**
 * The runs page's query string, the one way filters travel (the page, its live feed, and the
 * bulk actions' `filter` field): status (repeatable), name (repeatable), meta=k=v (repeatable,
 * AND), since, until (ISO, or a duration ago: `1h`), error, parent, worker, retrying=1, cursor.
 */
import type { RunFilter, RunStatus } from '../sdk/index.js';
import { ValidationError } from '../sdk/index.js';
import { toMs } from '../runtime/duration.js';

export const RUN_STATUSES: readonly RunStatus[] = [
  'QUEUED',
  'RUNNING',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
];

/** The parameters the runs page reads; any other is refused, so a typo does not widen a bulk action. */
const KNOWN = new Set([
  'status',
  'name',
  'meta',
  'since',
  'until',
  'error',
  'parent',
  'worker',
  'retrying',
  'cursor',
]);

export interface RunQuery {
  filter: RunFilter;
  cursor?: string;
}

/** A time given as ISO (or anything Date parses) or as a duration before `now`. */
function timeOf(param: string, value: string, now: number): Date {
  const text = value.trim();
  if (/^\d+(\.\d+)?(ms|s|m|h|d)/.test(text)) return new Date(now - toMs(text, param));
  const ms = Date.parse(text);
  if (Number.isNaN(ms))
    throw new ValidationError(
      `${param} must be a time (2026-12-03T10:00:00Z) or a duration ago (15m, 1h, 2d), got '${value}'`,
    );
  return new Date(ms);
}

const nonEmpty = (values: string[]) => values.map((v) => v.trim()).filter((v) => v.length > 0);

/** Reads the filters of a query string; throws ValidationError naming a bad parameter. */
export function parseRunQuery(params: URLSearchParams, now = Date.now()): RunQuery {
  for (const key of params.keys())
    if (!KNOWN.has(key))
      throw new ValidationError(
        `unknown filter '${key}': the runs page takes ${[...KNOWN].join(', ')}`,
      );
  const filter: RunFilter = {};
  const statuses = nonEmpty(params.getAll('status')).map((s) => s.toUpperCase());
  for (const s of statuses)
    if (!RUN_STATUSES.includes(s as RunStatus))
      throw new ValidationError(`status must be one of ${RUN_STATUSES.join(', ')}, got '${s}'`);
  if (statuses.length > 0) filter.status = statuses as RunStatus[];
  const names = nonEmpty(params.getAll('name'));
  if (names.length > 0) filter.name = names;
  const meta: Record<string, string> = {};
  for (const pair of nonEmpty(params.getAll('meta'))) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ValidationError(`meta must read key=value, got '${pair}'`);
    meta[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  if (Object.keys(meta).length > 0) filter.additionalMetadata = meta;
  const text = (key: string) => params.get(key)?.trim() || undefined;
  const since = text('since');
  if (since) filter.since = timeOf('since', since, now);
  const until = text('until');
  if (until) filter.until = timeOf('until', until, now);
  const error = text('error');
  if (error) filter.errorContains = error;
  const parent = text('parent');
  if (parent) filter.parentRunId = parent;
  const worker = text('worker');
  if (worker) filter.workerId = worker;
  const retrying = text('retrying');
  if (retrying === '1' || retrying === 'true') filter.retrying = true;
  return { filter, cursor: text('cursor') };
}

/** The query string without its cursor: what the filters are, for links, the live feed and bulk actions. */
export function filterParams(params: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const [key, value] of params)
    if (key !== 'cursor' && value.trim() !== '') out.append(key, value);
  return out;
}

/** A page link with `changes` applied to the current filters (null drops a parameter). */
export function withParams(
  params: URLSearchParams,
  changes: Record<string, string | string[] | null>,
): string {
  const out = filterParams(params);
  for (const [key, value] of Object.entries(changes)) {
    out.delete(key);
    if (value === null) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.append(key, v);
  }
  const qs = out.toString();
  return qs ? `/runs?${qs}` : '/runs';
}
