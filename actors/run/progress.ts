/**
 * How a run moves on within one turn: queueing tasks as their parents and conditions allow,
 * and ending the run (after onFailure / onSuccess). `decide.ts` calls these per message.
 */
import type { Decision } from '../actor.js';
import type { Effect, RunFinished } from '../effects.js';
import { queueKey, type QueuedTask } from '../scheduler/queued-task.js';
import { admitTask, releaseEnded } from './admission.js';
import { eventsOf, holds, sleepsOf } from './conditions.js';
import { placementOf } from './placement.js';
import type { RunEvent } from './events.js';
import type { ConditionExpr, TaskSpec } from './spec.js';
import { evolveRun, isDone, isTerminal, type RunState } from './state.js';

/** Collects events while applying them, so later decisions in one turn see earlier ones. */
export class Turn {
  events: RunEvent[] = [];
  effects: Effect[] = [];
  constructor(
    public state: RunState,
    readonly now: number,
  ) {}
  record(event: RunEvent) {
    this.events.push(event);
    this.state = evolveRun(this.state, event);
  }
  done(): Decision<RunEvent, RunState> {
    // Whatever ended in this turn gives its concurrency slots back.
    releaseEnded(this, this.now);
    return { events: this.events, effects: this.effects, state: this.state };
  }
}

export const taskSpec = (state: RunState, name: string): TaskSpec | undefined =>
  state.spec.tasks.find((t) => t.name === name);

/** Tasks that run after the others and stay out of the run's output. */
const isRole = (spec: TaskSpec | undefined) => spec?.role !== undefined;

const roleTask = (state: RunState, role: TaskSpec['role']) =>
  state.spec.tasks.find((t) => t.role === role);

function failedErrors(state: RunState): Record<string, string> {
  const failed = Object.values(state.tasks).filter((t) => t.status === 'FAILED');
  return Object.fromEntries(failed.map((t) => [t.name, t.error ?? 'failed']));
}

/** How a durable task comes back after a wait: which call resolved, and who may still hold it. */
export interface Resumption {
  position: number;
  result: unknown;
  preferredWorkerId?: string;
}

export function queueTask(
  turn: Turn,
  spec: TaskSpec,
  attempt: number,
  now: number,
  resumption?: Resumption,
) {
  const s = turn.state;
  const ran = (spec.parents ?? []).filter((p) => s.tasks[p]?.status === 'COMPLETED');
  const parentOutputs = ran.length
    ? Object.fromEntries(ran.map((p) => [p, s.tasks[p].output ?? null]))
    : undefined;
  const resume = resumption ? (s.tasks[spec.name]?.resumes ?? 0) + 1 : undefined;
  const key = queueKey(s.runId, spec.name, s.generation, attempt, resume);
  turn.record({ type: 'TaskQueued', taskName: spec.name, key, attempt, at: now, resume });
  const task: QueuedTask = {
    key,
    runId: s.runId,
    workflowName: s.spec.name,
    taskName: spec.name,
    attempt,
    maxAttempts: spec.retries + 1,
    priority: s.priority,
    enqueuedAt: now,
    scheduleTimeoutMs: spec.scheduleTimeoutMs,
    executionTimeoutMs: spec.executionTimeoutMs,
    input: s.input,
    unparsedInput: s.unparsedInput,
    additionalMetadata: s.additionalMetadata,
    parentOutputs,
    taskRunErrors: spec.role === 'onFailure' ? failedErrors(s) : undefined,
    durable: spec.durable || undefined,
    resume: resumption && { position: resumption.position, result: resumption.result },
    preferredWorkerId: resumption?.preferredWorkerId,
    ...placementOf(s, spec, resumption !== undefined),
  };
  turn.effects.push({ type: 'enqueue', task });
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

const waitKey = (s: RunState, taskName: string, conditionId: string) =>
  `wait:${s.runId}:${taskName}:${s.generation}:${conditionId}`;

type Conditions = (ConditionExpr | undefined)[];

/**
 * While a task waits on `conditions` (a workflow task before it starts, or a durable task's
 * wait): the event router's attention for their events, and timers for their sleeps.
 */
export function listenFor(
  turn: Turn,
  taskName: string,
  conditions: Conditions,
  now: number,
  timerPrefix: 'sleep' | 'dsleep',
) {
  const s = turn.state;
  for (const event of eventsOf(...conditions)) {
    turn.effects.push({
      type: 'awaitEvent',
      wait: {
        key: waitKey(s, taskName, event.id),
        runId: s.runId,
        taskName,
        conditionId: event.id,
        generation: s.generation,
        eventKey: event.eventKey,
        sinceMs: event.sinceMs ?? now,
        scope: event.scope,
      },
    });
  }
  for (const sleep of sleepsOf(...conditions)) {
    const timerId = `${timerPrefix}:${s.runId}:${taskName}:${s.generation}:${sleep.id}`;
    turn.effects.push({
      type: 'startTimer',
      timerId,
      dueAt: sleep.untilMs ?? now + sleep.ms,
      to: { type: 'run', id: s.runId },
      message: {
        type: 'SleepElapsed',
        id: timerId,
        taskName,
        conditionId: sleep.id,
        generation: s.generation,
      },
    });
  }
}

/** A task that stops waiting on `conditions` no longer needs to hear about their events. */
export function endWaits(turn: Turn, taskName: string, conditions: Conditions) {
  for (const event of eventsOf(...conditions)) {
    turn.effects.push({ type: 'endWait', key: waitKey(turn.state, taskName, event.id) });
  }
}

/** The conditions a workflow task waits on before it starts. */
export const startConditions = (spec: TaskSpec): Conditions => [
  spec.waitFor,
  spec.skipIf,
  spec.cancelIf,
];

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
    cancelRun(turn, 'cancelled by condition', now);
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

/** Ends the run once its tasks allow it, running onFailure / onSuccess first when declared. */
export function finish(turn: Turn, now: number) {
  const s = turn.state;
  const main = s.spec.tasks.filter((t) => !isRole(t)).map((t) => s.tasks[t.name]);
  const onFailure = roleTask(s, 'onFailure');
  const onSuccess = roleTask(s, 'onSuccess');
  if (main.some((t) => t.status === 'FAILED')) {
    cancelUnfinished(turn, 'another task of the run failed', now, onFailure?.name);
    if (onFailure && turn.state.tasks[onFailure.name].status === 'PENDING') {
      queueTask(turn, onFailure, 1, now);
      return;
    }
    if (onFailure && !isTerminal(turn.state.tasks[onFailure.name].status)) return;
    failRun(turn, now);
    return;
  }
  if (!main.every((t) => isDone(t.status))) return;
  const after = onSuccess && turn.state.tasks[onSuccess.name];
  if (after?.status === 'PENDING') {
    queueTask(turn, onSuccess!, 1, now);
    return;
  }
  if (after && !isTerminal(after.status)) return;
  if (after?.status === 'FAILED') {
    failRun(turn, now);
    return;
  }
  const output =
    s.spec.kind === 'task'
      ? main[0]?.output
      : Object.fromEntries(main.map((t) => [t.name, t.output]));
  cancelUnfinished(turn, 'not needed: the run succeeded', now);
  turn.record({ type: 'RunCompleted', output, at: now });
  ended(turn, { runId: s.runId, status: 'COMPLETED', output });
}

/** Tells whoever waits for this run how it ended, and a durable parent durably. */
function ended(turn: Turn, result: RunFinished) {
  const s = turn.state;
  turn.effects.push({ type: 'runFinished', result, notify: s.notify });
  if (s.parentRunId && s.parentCall) {
    turn.effects.push({
      type: 'send',
      to: { type: 'run', id: s.parentRunId },
      message: {
        type: 'ChildFinished',
        id: `child-finished:${s.runId}:${s.generation}`,
        taskName: s.parentCall.taskName,
        position: s.parentCall.position,
        result,
      },
    });
  }
}

/** Ends the run FAILED with `errors` (by default each failed task's last error). */
export function failRun(turn: Turn, now: number, errors = failedErrors(turn.state)) {
  cancelUnfinished(turn, 'the run failed', now);
  turn.record({ type: 'RunFailed', errors, at: now });
  ended(turn, { runId: turn.state.runId, status: 'FAILED', errors });
}

function cancelUnfinished(turn: Turn, reason: string, now: number, except?: string) {
  for (const task of Object.values(turn.state.tasks)) {
    if (isTerminal(task.status) || task.name === except) continue;
    const spec = taskSpec(turn.state, task.name);
    if (task.status === 'WAITING' && spec) endWaits(turn, task.name, startConditions(spec));
    if (task.waiting) endWaits(turn, task.name, [task.waiting.conditions]);
    if (task.status === 'QUEUED' || task.status === 'RUNNING') {
      turn.effects.push({ type: 'abortTask', key: task.key, reason });
    }
    if (task.status === 'SUSPENDED' && task.workerId) {
      const heldBy = { workerId: task.workerId, runId: turn.state.runId, taskName: task.name };
      turn.effects.push({ type: 'abortTask', key: task.key, reason, heldBy });
    }
    turn.record({ type: 'TaskCancelled', taskName: task.name, reason, at: now });
  }
}

/** Tells a child run to cancel because its parent was. */
export function cancelChild(turn: Turn, childRunId: string) {
  const runId = turn.state.runId;
  turn.effects.push({
    type: 'send',
    to: { type: 'run', id: childRunId },
    message: {
      type: 'Cancel',
      id: `cancel:${childRunId}:parent:${runId}`,
      reason: `parent run ${runId} was cancelled`,
    },
  });
}

export function cancelRun(turn: Turn, reason: string, now: number) {
  cancelUnfinished(turn, reason, now);
  for (const child of turn.state.children) cancelChild(turn, child);
  turn.record({ type: 'RunCancelled', reason, at: now });
  ended(turn, { runId: turn.state.runId, status: 'CANCELLED', reason });
}
