/**
 * Which tasks of a run are ready to go, and how each goes: a task whose parents are done is
 * cancelled, skipped, admitted (queued, after its concurrency slots) or left waiting, as its
 * conditions say.
 */
import { admitRun, admitTask } from './admission.js';
import { eventsOf, holds, sleepsOf } from './conditions.js';
import { cancelRunFor, endWaits, isRole, listenFor, startConditions } from './progress.js';
import type { TaskSpec } from './spec.js';
import { isDone, isTerminal } from './state.js';
import type { Turn } from './turn.js';

/** A run that just started (or was replayed): ask for its slots, or queue its first tasks. */
export function startRun(turn: Turn, now: number) {
  if (turn.state.spec.concurrency?.length) admitRun(turn, now);
  else queueReady(turn, now);
}

/** Moves on every pending task whose parents are all done (succeeded or skipped). */
export function queueReady(turn: Turn, now: number) {
  for (const spec of turn.state.spec.tasks) {
    if (isRole(spec) || turn.state.tasks[spec.name]?.status !== 'PENDING') continue;
    const parents = (spec.parents ?? []).map((p) => turn.state.tasks[p]);
    if (!parents.every((p) => p && isDone(p.status))) continue;
    if (parents.length > 0 && parents.every((p) => p.status === 'SKIPPED')) {
      turn.record({
        type: 'TaskSkipped',
        taskName: spec.name,
        reason: 'its parents were skipped',
        at: now,
      });
      continue;
    }
    advance(turn, spec, now);
    if (isTerminal(turn.state.status)) return;
  }
}

/** A ready or waiting task: cancel the run, skip it, queue it, or wait, as its conditions say. */
export function advance(turn: Turn, spec: TaskSpec, now: number) {
  const wasWaiting = turn.state.tasks[spec.name]?.status === 'WAITING';
  decideTask(turn, spec, now);
  if (wasWaiting && turn.state.tasks[spec.name]?.status !== 'WAITING')
    endWaits(turn, spec.name, startConditions(spec));
}

function decideTask(turn: Turn, spec: TaskSpec, now: number) {
  const s = turn.state;
  const task = s.tasks[spec.name];
  const met = task.met ?? [];
  if (holds(spec.cancelIf, s, met)) {
    cancelRunFor(turn, spec.name, 'cancelled by condition', now);
    return;
  }
  if (holds(spec.skipIf, s, met)) {
    turn.record({ type: 'TaskSkipped', taskName: spec.name, reason: 'skipIf held', at: now });
    return;
  }
  if (holds(spec.waitFor, s, met) !== false) {
    admitTask(turn, spec, now);
    return;
  }
  const conditions = startConditions(spec);
  if (sleepsOf(...conditions).length === 0 && eventsOf(...conditions).length === 0) {
    // Only parent conditions, and they are final: waitFor can never hold.
    turn.record({
      type: 'TaskSkipped',
      taskName: spec.name,
      reason: 'waitFor cannot hold',
      at: now,
    });
    return;
  }
  if (task.status === 'WAITING') return;
  turn.record({ type: 'TaskWaiting', taskName: spec.name, at: now });
  listenFor(turn, spec.name, startConditions(spec), now, 'sleep');
}
