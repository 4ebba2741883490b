/**
 * Where and when a run's task may start, resolved when it is queued: its rate limits (a
 * dynamic key is CEL over the run's `input` and `additionalMetadata`), the worker labels it
 * wants (the run's over the task's) and the run's sticky worker. Pure and deterministic.
 */
import { celKey } from './cel-key.js';
import type { LabelWish, QueuedTask, RateLimitUse } from '../scheduler/queued-task.js';
import type { RunCreation } from './messages.js';
import type { TaskSpec } from './spec.js';
import type { RunState } from './state.js';

/** A task's declared rate limit: a key upserted with `skein.rateLimits.upsert`, or a dynamic one. */
export type RateLimitSpec =
  | { staticKey: string; units: number }
  | { dynamicKey: string; units: number; limit: number; durationMs: number };

export type StickyStrategy = 'soft' | 'hard';

export type Placement = Pick<
  QueuedTask,
  'rateLimits' | 'desiredLabels' | 'sticky' | 'placementError'
>;

/**
 * The placement of a task run about to be queued. A resumed durable task spent its rate
 * limits when its attempt started, so it spends none again.
 */
export function placementOf(state: RunState, spec: TaskSpec, resumed: boolean): Placement {
  const out: Placement = {};
  const uses: RateLimitUse[] = [];
  for (const rl of resumed ? [] : (spec.rateLimits ?? [])) {
    if ('staticKey' in rl) {
      uses.push({ key: rl.staticKey, units: rl.units });
      continue;
    }
    const resolved = celKey(rl.dynamicKey, state);
    if ('error' in resolved) {
      out.placementError = `task '${spec.name}': rate limit dynamicKey '${rl.dynamicKey}' names no key for this run: ${resolved.error}`;
      continue;
    }
    uses.push({ key: resolved.key, units: rl.units, limit: rl.limit, durationMs: rl.durationMs });
  }
  if (uses.length > 0 && !out.placementError) out.rateLimits = uses;
  const labels: Record<string, LabelWish> = {
    ...spec.desiredWorkerLabels,
    ...state.desiredWorkerLabels,
  };
  if (Object.keys(labels).length > 0) out.desiredLabels = labels;
  const strategy = state.sticky ?? state.spec.sticky;
  if (strategy)
    out.sticky = state.stickyWorkerId ? { strategy, workerId: state.stickyWorkerId } : { strategy };
  return out;
}

/** The worker a sticky run keeps its tasks on: the one that started its first task. */
export const stickyWorkerAfterStart = (state: RunState, workerId: string) =>
  (state.sticky ?? state.spec.sticky) && !state.stickyWorkerId ? { stickyWorkerId: workerId } : {};

/** A run's own placement options, kept by crons and schedules for the runs they start. */
export type RunPlacementOptions = Pick<RunCreation, 'desiredWorkerLabels' | 'sticky'>;

/** The options that are set, and no key for those that are not. */
export const runPlacementOf = (o: RunPlacementOptions): RunPlacementOptions => ({
  ...(o.desiredWorkerLabels && { desiredWorkerLabels: o.desiredWorkerLabels }),
  ...(o.sticky && { sticky: o.sticky }),
});
