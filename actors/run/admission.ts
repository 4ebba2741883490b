/**
 * Concurrency limits, from the run's side: before a run (or a task run) with `concurrency`
 * starts, it asks each of its concurrency groups for a slot, one after another (always in
 * declaration order, so two holders never wait for each other); when it ends it gives them
 * back (turn.ts `releaseEnded`, at the end of every turn). A group per key is its own actor
 * (actors/concurrency).
 */
import { celKey } from './cel-key.js';
import type { GroupRef } from './events.js';
import { cancelUnfinished, queueTask } from './progress.js';
import type { ConcurrencySpec, TaskSpec } from './spec.js';
import type { Admission, RunState } from './state.js';
import type { Turn } from './turn.js';
import { acquireId, concurrencyGroupId, runHolder, taskHolder } from '../ids.js';

/** The key of a concurrency expression for this run; throws, saying why, when it names none. */
export function concurrencyKey(
  expression: string,
  run: Pick<RunState, 'input' | 'additionalMetadata'>,
): string {
  const resolved = celKey(expression, run);
  if ('error' in resolved) throw new Error(resolved.error);
  return resolved.key;
}

function groupsOf(specs: ConcurrencySpec[], scope: string, state: RunState): GroupRef[] {
  return specs.map((c, i) => {
    const key = concurrencyKey(c.expression, state);
    const groupId = concurrencyGroupId(scope, i, key);
    return { groupId, key, maxRuns: c.maxRuns, strategy: c.strategy };
  });
}

/** Asks the next group of `admission` for a slot. */
export function acquire(turn: Turn, admission: Admission) {
  const group = admission.groups[admission.granted];
  turn.effects.push({
    type: 'send',
    to: { type: 'concurrency', id: group.groupId },
    message: {
      type: 'Acquire',
      id: acquireId(group.groupId, admission.holder),
      holder: admission.holder,
      runId: turn.state.runId,
      maxRuns: group.maxRuns,
      strategy: group.strategy,
    },
  });
}

/** A run with concurrency limits that just started (or was replayed): ask for its slots. */
export function admitRun(turn: Turn, now: number) {
  const s = turn.state;
  let groups: GroupRef[];
  try {
    groups = groupsOf(s.spec.concurrency!, s.spec.name, s);
  } catch (err) {
    // No slot can be asked for: one task goes to a worker to fail the run, saying why.
    const first = s.spec.tasks.find((t) => !t.role && !t.parents?.length);
    if (!first) return;
    const reason = "not started: the run's concurrency key could not be computed";
    cancelUnfinished(turn, reason, now, (t) => t.name !== first.name);
    failUnkeyed(turn, first, s.spec.name, err, now);
    return;
  }
  turn.record({
    type: 'AdmissionRequested',
    holder: runHolder(s.runId, s.generation),
    groups,
    at: now,
  });
  acquire(turn, turn.state.admission!);
}

/** A task run ready to go: ask for its slots first if it has concurrency limits. */
export function admitTask(turn: Turn, spec: TaskSpec, now: number) {
  const s = turn.state;
  if (!spec.concurrency?.length) return queueTask(turn, spec, 1, now);
  let groups: GroupRef[];
  try {
    groups = groupsOf(spec.concurrency, `${s.spec.name}/${spec.name}`, s);
  } catch (err) {
    failUnkeyed(turn, spec, spec.name, err, now);
    return;
  }
  const holder = taskHolder(s.runId, s.generation, spec.name);
  turn.record({ type: 'AdmissionRequested', taskName: spec.name, holder, groups, at: now });
  acquire(turn, turn.state.tasks[spec.name].admission!);
}

/**
 * A key that cannot be computed (the expression fails on this input): `spec` is queued without
 * a slot, and its worker fails it, with the inputValidator's message when the input is invalid
 * (a run triggered by name or event was never checked), else with this one.
 */
function failUnkeyed(turn: Turn, spec: TaskSpec, name: string, err: unknown, now: number) {
  const message = `concurrency expression of '${name}' failed on this run's input: ${(err as Error).message}`;
  queueTask(turn, spec, 1, now, undefined, message);
}
