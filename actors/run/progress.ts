/**
 * How a run moves on within one turn: queueing a task, listening for what it waits on, and
 * ending the run (after onFailure / onSuccess) or cancelling it. Which tasks are ready to go
 * is readiness.ts; the handlers in decide.ts call both.
 */
import type { RunFinished } from '../effects.js';
import { queueKey, type QueuedTask } from '../scheduler/queued-task.js';
import { eventsOf, sleepsOf } from './conditions.js';
import { placementOf } from './placement.js';
import type { RunEvent } from './events.js';
import type { ConditionExpr, TaskSpec } from './spec.js';
import { isDone, isTerminal, type RunState, type TaskRunState } from './state.js';
import { releaseEnded, type Turn } from './turn.js';
import { childFinishedId, parentCancelId, sleepTimerId } from '../ids.js';

export const taskSpec = (state: RunState, name: string): TaskSpec | undefined =>
  state.spec.tasks.find((t) => t.name === name);

/** Tasks that run after the others and stay out of the run's output. */
export const isRole = (spec: TaskSpec | undefined) => spec?.role !== undefined;

const roleTask = (state: RunState, role: TaskSpec['role']) =>
  state.spec.tasks.find((t) => t.role === role);

/** Each failed task's last error, the one that failed the run first. */
function failedErrors(state: RunState): Record<string, string> {
  const failed = Object.values(state.tasks).filter((t) => t.status === 'FAILED');
  const first = (t: { name: string }) => Number(t.name === state.failedFirst);
  failed.sort((a, b) => first(b) - first(a));
  return Object.fromEntries(failed.map((t) => [t.name, t.error ?? 'Error: failed']));
}

const mainTasks = (s: RunState) =>
  s.spec.tasks.filter((t) => !isRole(t)).map((t) => s.tasks[t.name]);

/** How a durable task comes back after a wait: which call resolved, and who may still hold it. */
export interface Resumption {
  position: number;
  /** Left out when the run cannot hand it back: the worker then replays from the history. */
  result?: unknown;
  preferredWorkerId?: string;
}

export function queueTask(
  turn: Turn,
  spec: TaskSpec,
  attempt: number,
  now: number,
  resumption?: Resumption,
  /** Why it cannot run as declared: its worker checks the input, then fails it with this. */
  placementError?: string,
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
    // onFailure of a run whose input failed its validator gets that input as it came.
    unparsedInput: spec.role === 'onFailure' && s.inputInvalid ? undefined : s.unparsedInput,
    additionalMetadata: s.additionalMetadata,
    parentOutputs,
    taskRunErrors: spec.role === 'onFailure' ? failedErrors(s) : undefined,
    durable: spec.durable || undefined,
    resume:
      resumption && 'result' in resumption
        ? { position: resumption.position, result: resumption.result }
        : undefined,
    preferredWorkerId: resumption?.preferredWorkerId,
    ...placementOf(s, spec, resumption !== undefined),
    ...(placementError && { placementError }),
    ...(s.trace && { trace: s.trace }),
    ...(s.traceLink && { traceLink: s.traceLink }),
  };
  turn.effects.push({ type: 'enqueue', task });
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
    const timerId = sleepTimerId(timerPrefix, s.runId, taskName, s.generation, sleep.id);
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

/**
 * Ends the run once its tasks allow it, running onFailure / onSuccess first when declared.
 * A task that failed for good stops its dependents; independent branches run to their end
 * (retries included), then onFailure runs and the run fails.
 */
export function finish(turn: Turn, now: number) {
  const s = turn.state;
  if (isTerminal(s.status)) return;
  const main = mainTasks(s);
  const onFailure = roleTask(s, 'onFailure');
  const onSuccess = roleTask(s, 'onSuccess');
  if (main.some((t) => t.status === 'FAILED')) {
    // Bad input fails every task alike: the run stops at the first.
    if (s.inputInvalid)
      cancelUnfinished(
        turn,
        "the run's input is invalid",
        now,
        (t) => !isRole(taskSpec(s, t.name)),
      );
    cancelDependents(turn, now);
    if (!mainTasks(turn.state).every((t) => isTerminal(t.status))) return;
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
  end(
    turn,
    { type: 'RunCompleted', output, at: now },
    { runId: s.runId, status: 'COMPLETED', output },
  );
}

/** Cancels each pending task a failed (or cancelled) parent keeps from ever running. */
function cancelDependents(turn: Turn, now: number) {
  for (const spec of turn.state.spec.tasks) {
    if (turn.state.tasks[spec.name]?.status !== 'PENDING') continue;
    const stopped = (spec.parents ?? []).find((p) => {
      const status = turn.state.tasks[p]?.status;
      return status === 'FAILED' || status === 'CANCELLED';
    });
    if (!stopped) continue;
    const how = turn.state.tasks[stopped].status === 'FAILED' ? 'failed' : 'was cancelled';
    turn.record({
      type: 'TaskCancelled',
      taskName: spec.name,
      reason: `its parent '${stopped}' ${how}`,
      at: now,
    });
  }
}

/** Records the run's last event: its concurrency slots are given back first, so it stays last. */
function end(
  turn: Turn,
  event: Extract<RunEvent, { type: 'RunCompleted' | 'RunFailed' | 'RunCancelled' }>,
  result: RunFinished,
) {
  releaseEnded(turn, event.at, true);
  turn.record(event);
  ended(turn, result);
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
        id: childFinishedId(s.runId, s.generation),
        taskName: s.parentCall.taskName,
        position: s.parentCall.position,
        result,
      },
    });
  }
}

/** Ends the run FAILED with each failed task's last error. */
function failRun(turn: Turn, now: number) {
  cancelUnfinished(turn, 'the run failed', now);
  const s = turn.state;
  const errors = failedErrors(s);
  const errorClass = s.failedFirst ? s.tasks[s.failedFirst]?.errorClass : undefined;
  end(
    turn,
    { type: 'RunFailed', errors, ...(errorClass && { errorClass }), at: now },
    { runId: s.runId, status: 'FAILED', errors },
  );
}

/** Cancels the tasks (of those `which` picks) that have not ended; a hook never queued stays out. */
export function cancelUnfinished(
  turn: Turn,
  reason: string,
  now: number,
  which: (t: TaskRunState) => boolean = () => true,
) {
  for (const task of Object.values(turn.state.tasks)) {
    const spec = taskSpec(turn.state, task.name);
    if (isTerminal(task.status) || !which(task)) continue;
    if (isRole(spec) && task.status === 'PENDING') continue;
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
      id: parentCancelId(childRunId, runId),
      reason: `parent run ${runId} was cancelled`,
    },
  });
}

/**
 * Cancels the run because of `taskName` (its cancelIf held, its schedule timeout passed). Once a
 * task failed for good the run is bound to fail: then only `taskName` is cancelled.
 */
export function cancelRunFor(turn: Turn, taskName: string, reason: string, now: number) {
  if (!turn.state.failedFirst) return cancelRun(turn, reason, now);
  cancelUnfinished(turn, reason, now, (t) => t.name === taskName);
}

/** `by`: who asked for it through the SDK, recorded with the cancel. */
export function cancelRun(turn: Turn, reason: string, now: number, by?: string) {
  cancelUnfinished(turn, reason, now);
  for (const child of turn.state.children) cancelChild(turn, child);
  const runId = turn.state.runId;
  end(
    turn,
    { type: 'RunCancelled', reason, ...(by !== undefined && { by }), at: now },
    { runId, status: 'CANCELLED', reason },
  );
}
