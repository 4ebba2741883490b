/**
 * What runs.cancel and runs.replay take and how they find the runs a filter matches: the run
 * index's pages, read to the end before anything is changed (a cancel or replay moves a run
 * between statuses, and so between the pages of a status filter).
 */
import { checkOptions, optionNames } from '../runtime/options.js';
import type { RunStatus } from './enums.js';
import { ValidationError } from './errors.js';
import { checkId } from './ids.js';
import type { RunFilter, RunPage, RunPageQuery } from './runs.js';

export interface CancelRunOptions {
  /** Who cancels it, recorded in the run's history (`RunCancelled.by`); default `'sdk'`. */
  by?: string;
}

export interface ReplayRunOptions {
  /**
   * Replay from this task: it and the tasks downstream of it run again, and so does every
   * task that had not succeeded; the others keep their outputs.
   */
  fromTask?: string;
  /** Who replays it, recorded in the run's history (`RunReplayed.by`); default `'sdk'`. */
  by?: string;
}

/** Every run `filter` matches (the filters of runs.page). */
export interface BulkRunAction {
  filter: RunFilter;
  /** Who did it, recorded in each run's history; default `'sdk'`. */
  by?: string;
}

export interface BulkRunActionResult {
  /** How many runs it cancelled or replayed. */
  count: number;
}

export const CANCEL_OPTIONS = optionNames<CancelRunOptions>({ by: true });
export const REPLAY_OPTIONS = optionNames<ReplayRunOptions>({ fromTask: true, by: true });
const BULK_OPTIONS = optionNames<BulkRunAction>({ filter: true, by: true });

/** `by` as given, else the SDK's own name. */
export const byOf = (by: unknown): string => (by === undefined ? 'sdk' : checkId('by', by));

export const isBulk = (target: unknown): target is BulkRunAction =>
  typeof target === 'object' && target !== null;

/** A bulk action's filter and `by`, checked. */
export function checkBulk(bulk: BulkRunAction, where: string): { filter: RunFilter; by: string } {
  checkOptions(bulk, BULK_OPTIONS, where);
  const { filter } = bulk;
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter))
    throw new ValidationError(
      `${where}: filter must be an object of runs.page filters (pass {} for every run)`,
    );
  return { filter, by: byOf(bulk.by) };
}

const PAGE_LIMIT = 1000;

/**
 * Ids of the runs `filter` matches whose status is one of `statuses` (and of the filter's own,
 * when it names some), newest first.
 */
export async function matchingRunIds(
  page: (query: RunPageQuery) => Promise<RunPage>,
  filter: RunFilter,
  statuses: readonly RunStatus[],
): Promise<string[]> {
  const asked = filter.status === undefined ? undefined : [filter.status].flat();
  const status = statuses.filter((s) => !asked || asked.includes(s));
  if (status.length === 0) return [];
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const got = await page({ ...filter, status, limit: PAGE_LIMIT, cursor });
    ids.push(...got.runs.map((r) => r.id));
    cursor = got.nextCursor ?? undefined;
  } while (cursor);
  return ids;
}

/** Runs `act` on each id, a page's worth at a time (the deliverer batches them per partition). */
export async function forEachRun(ids: string[], act: (runId: string) => Promise<unknown>) {
  for (let i = 0; i < ids.length; i += PAGE_LIMIT)
    await Promise.all(ids.slice(i, i + PAGE_LIMIT).map(act));
}
