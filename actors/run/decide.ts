/**
 * The run actor's decisions: given its state, a message and the time, what happens. One
 * handler per message, each opening one Turn (turn.ts); the handlers of a durable task's calls
 * and waits are in durable.ts, of a workflow task's start conditions in waiting-task.ts.
 */
import { assertNever, noDecision, type Decision } from '../actor.js';
import { queueKey } from '../scheduler/queued-task.js';
import { acquire } from './admission.js';
import {
  childFinished,
  conditionHeld,
  isForDurableWait,
  recordCall,
  startWait,
} from './durable.js';
import type { RunEvent } from './events.js';
import type { RunMessage } from './messages.js';
import { cancelChild, cancelRun, cancelRunFor, finish, queueTask, taskSpec } from './progress.js';
import { queueReady, startRun } from './readiness.js';
import { retryDelayMs } from './spec.js';
import { isTerminal, type RunState } from './state.js';
import { Turn } from './turn.js';
import { taskConditionHeld } from './waiting-task.js';
import { retryId } from '../ids.js';

type RunDecision = Decision<RunEvent, RunState>;
type Message<T extends RunMessage['type']> = Extract<RunMessage, { type: T }>;

export function decideRun(state: RunState, message: RunMessage, now: number): RunDecision {
  switch (message.type) {
    case 'Trigger':
      return onTrigger(state, message, now);
    case 'TaskResult':
      return onTaskResult(state, message, now);
    case 'RetryDue':
      return onRetryDue(state, message, now);
    case 'Cancel':
      return onCancel(state, message, now);
    case 'ScheduleTimedOut':
      return onScheduleTimedOut(state, message, now);
    case 'WorkerLost':
      return onWorkerLost(state, message, now);
    case 'TimeoutRefreshed':
      return onTimeoutRefreshed(state, message, now);
    case 'ChildStarted':
      return onChildStarted(state, message, now);
    case 'EventReceived':
    case 'SleepElapsed':
    case 'EventsChecked':
      return onCondition(state, message, now);
    case 'DurableCall':
      return recordCall(state, message, now);
    case 'DurableWait':
      return startWait(state, message, now);
    case 'ChildFinished':
      return childFinished(state, message, now);
    case 'ConcurrencyGranted':
      return onConcurrencyGranted(state, message, now);
    case 'Replay':
      return onReplay(state, message, now);
    default:
      return assertNever(message, 'run message');
  }
}

/** The task named by a message about attempt `key`, if that attempt is still the live one. */
function liveTask(state: RunState, key: string, taskName: string) {
  const task = state.tasks[taskName];
  if (!task || task.key !== key || isTerminal(state.status) || isTerminal(task.status))
    return undefined;
  return task;
}

function onTrigger(state: RunState, message: Message<'Trigger'>, now: number): RunDecision {
  if (state.exists) return noDecision;
  const turn = new Turn(state, now);
  const { type: _type, id: _id, ...creation } = message;
  turn.record({ type: 'RunTriggered', ...creation, at: now });
  startRun(turn, now);
  return turn.done();
}

function onTaskResult(state: RunState, message: Message<'TaskResult'>, now: number): RunDecision {
  const task = liveTask(state, message.key, message.taskName);
  const spec = taskSpec(state, message.taskName);
  if (!task || !spec || task.status === 'RETRYING' || task.status === 'SUSPENDED')
    return noDecision;
  const turn = new Turn(state, now);
  const { key, taskName } = message;
  turn.record({
    type: 'TaskStarted',
    taskName,
    key,
    attempt: task.attempt,
    workerId: message.workerId,
    at: message.startedAt,
  });
  if (!message.error) {
    turn.record({
      type: 'TaskSucceeded',
      taskName,
      key,
      output: message.output ?? null,
      at: message.finishedAt,
    });
    queueReady(turn, now);
    finish(turn, now);
    return turn.done();
  }
  const final = message.error.nonRetryable === true || task.attempt >= spec.retries + 1;
  turn.record({
    type: 'TaskFailed',
    taskName,
    key,
    error: message.error,
    final,
    at: message.finishedAt,
  });
  if (final) {
    finish(turn, now);
    return turn.done();
  }
  const delay = retryDelayMs(spec, task.attempt);
  if (delay === 0) {
    queueTask(turn, spec, task.attempt + 1, now);
    return turn.done();
  }
  const nextKey = queueKey(state.runId, taskName, state.generation, task.attempt + 1);
  turn.record({
    type: 'RetryScheduled',
    taskName,
    key: nextKey,
    attempt: task.attempt + 1,
    dueAt: now + delay,
  });
  turn.effects.push({
    type: 'startTimer',
    timerId: retryId(nextKey),
    dueAt: now + delay,
    to: { type: 'run', id: state.runId },
    message: { type: 'RetryDue', id: retryId(nextKey), key: nextKey, taskName },
  });
  return turn.done();
}

function onRetryDue(state: RunState, message: Message<'RetryDue'>, now: number): RunDecision {
  const task = state.tasks[message.taskName];
  const spec = taskSpec(state, message.taskName);
  if (
    !task ||
    !spec ||
    task.key !== message.key ||
    task.status !== 'RETRYING' ||
    isTerminal(state.status)
  ) {
    return noDecision;
  }
  const turn = new Turn(state, now);
  queueTask(turn, spec, task.attempt, now);
  return turn.done();
}

function onCancel(state: RunState, message: Message<'Cancel'>, now: number): RunDecision {
  if (!state.exists || isTerminal(state.status)) return noDecision;
  const turn = new Turn(state, now);
  cancelRun(turn, message.reason, now, message.by);
  return turn.done();
}

function onScheduleTimedOut(
  state: RunState,
  message: Message<'ScheduleTimedOut'>,
  now: number,
): RunDecision {
  const task = liveTask(state, message.key, message.taskName);
  if (!task || task.status !== 'QUEUED') return noDecision;
  const turn = new Turn(state, now);
  cancelRunFor(turn, task.name, 'schedule timeout', now);
  finish(turn, now);
  return turn.done();
}

function onWorkerLost(state: RunState, message: Message<'WorkerLost'>, now: number): RunDecision {
  if (!liveTask(state, message.key, message.taskName)) return noDecision;
  const turn = new Turn(state, now);
  turn.record({
    type: 'TaskRequeued',
    taskName: message.taskName,
    key: message.key,
    workerId: message.workerId,
    reason:
      message.cause === 'unacknowledged'
        ? `worker ${message.workerId} never acknowledged the dispatch`
        : `worker ${message.workerId} was lost`,
    at: now,
  });
  return turn.done();
}

function onTimeoutRefreshed(
  state: RunState,
  message: Message<'TimeoutRefreshed'>,
  now: number,
): RunDecision {
  if (!liveTask(state, message.key, message.taskName)) return noDecision;
  const turn = new Turn(state, now);
  turn.record({
    type: 'TimeoutRefreshed',
    taskName: message.taskName,
    key: message.key,
    byMs: message.byMs,
    at: now,
  });
  return turn.done();
}

function onChildStarted(
  state: RunState,
  message: Message<'ChildStarted'>,
  now: number,
): RunDecision {
  if (!state.exists || state.children.includes(message.childRunId)) return noDecision;
  const turn = new Turn(state, now);
  if (state.status === 'CANCELLED') cancelChild(turn, message.childRunId);
  else turn.record({ type: 'ChildLinked', childRunId: message.childRunId, at: now });
  return turn.done();
}

/** An event, a sleep or an events check, for a durable task's wait or a workflow task's start. */
function onCondition(
  state: RunState,
  message: Message<'EventReceived' | 'SleepElapsed' | 'EventsChecked'>,
  now: number,
): RunDecision {
  return isForDurableWait(state, message)
    ? conditionHeld(state, message, now)
    : taskConditionHeld(state, message, now);
}

/** A concurrency group gave the run (or one of its task runs) a slot: ask the next, or go. */
function onConcurrencyGranted(
  state: RunState,
  message: Message<'ConcurrencyGranted'>,
  now: number,
): RunDecision {
  if (!state.exists || isTerminal(state.status)) return noDecision;
  const task = Object.values(state.tasks).find((t) => t.admission?.holder === message.holder);
  const admission = task ? task.admission : state.admission;
  if (admission?.holder !== message.holder) return noDecision;
  if (admission.groups[admission.granted]?.groupId !== message.groupId) return noDecision;
  const turn = new Turn(state, now);
  turn.record({
    type: 'AdmissionGranted',
    taskName: task?.name,
    groupId: message.groupId,
    at: now,
  });
  const updated = task ? turn.state.tasks[task.name].admission! : turn.state.admission!;
  if (updated.granted < updated.groups.length) acquire(turn, updated);
  else if (task) queueTask(turn, taskSpec(state, task.name)!, 1, now);
  else queueReady(turn, now);
  return turn.done();
}

function onReplay(state: RunState, message: Message<'Replay'>, now: number): RunDecision {
  if (!state.exists || !isTerminal(state.status)) return noDecision;
  const { by, fromTask } = message;
  if (fromTask !== undefined && !taskSpec(state, fromTask)) return noDecision;
  const turn = new Turn(state, now);
  turn.record({
    type: 'RunReplayed',
    ...(by !== undefined && { by }),
    ...(fromTask !== undefined && { fromTask }),
    at: now,
  });
  startRun(turn, now);
  // From a hook (onSuccess, onFailure) every main task may be done already: end the run anew.
  if (fromTask !== undefined) finish(turn, now);
  return turn.done();
}
