/** The run actor's decisions: given its state, a message and the time, what happens. */
import { assertNever, noDecision, type Decision } from '../actor.js';
import { queueKey } from '../scheduler/queued-task.js';
import { admitRun, onGranted } from './admission.js';
import {
  childFinished,
  conditionHeld,
  isForDurableWait,
  recordCall,
  startWait,
} from './durable.js';
import type { RunEvent } from './events.js';
import type { RunMessage } from './messages.js';
import { taskConditionHeld } from './waiting-task.js';
import {
  cancelChild,
  cancelRun,
  cancelRunFor,
  finish,
  queueReady,
  queueTask,
  taskSpec,
  Turn,
} from './progress.js';
import { retryDelayMs } from './spec.js';
import { isTerminal, type RunState } from './state.js';
import { retryId } from '../ids.js';

/** The task named by a message about attempt `key`, if that attempt is still the live one. */
function liveTask(state: RunState, key: string, taskName: string) {
  const task = state.tasks[taskName];
  if (!task || task.key !== key || isTerminal(state.status) || isTerminal(task.status))
    return undefined;
  return task;
}

export function decideRun(
  state: RunState,
  message: RunMessage,
  now: number,
): Decision<RunEvent, RunState> {
  const turn = new Turn(state, now);
  switch (message.type) {
    case 'Trigger': {
      if (state.exists) return noDecision;
      const { type: _type, id: _id, ...creation } = message;
      turn.record({ type: 'RunTriggered', ...creation, at: now });
      admitRun(turn, now);
      return turn.done();
    }
    case 'TaskResult': {
      const task = liveTask(state, message.key, message.taskName);
      const spec = taskSpec(state, message.taskName);
      if (!task || !spec || task.status === 'RETRYING' || task.status === 'SUSPENDED')
        return noDecision;
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
    case 'RetryDue': {
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
      queueTask(turn, spec, task.attempt, now);
      return turn.done();
    }
    case 'Cancel': {
      if (!state.exists || isTerminal(state.status)) return noDecision;
      cancelRun(turn, message.reason, now);
      return turn.done();
    }
    case 'ScheduleTimedOut': {
      const task = liveTask(state, message.key, message.taskName);
      if (!task || task.status !== 'QUEUED') return noDecision;
      cancelRunFor(turn, task.name, 'schedule timeout', now);
      finish(turn, now);
      return turn.done();
    }
    case 'WorkerLost': {
      const task = liveTask(state, message.key, message.taskName);
      if (!task) return noDecision;
      turn.record({
        type: 'TaskRequeued',
        taskName: message.taskName,
        key: message.key,
        workerId: message.workerId,
        reason: `worker ${message.workerId} was lost`,
        at: now,
      });
      return turn.done();
    }
    case 'TimeoutRefreshed': {
      if (!liveTask(state, message.key, message.taskName)) return noDecision;
      turn.record({
        type: 'TimeoutRefreshed',
        taskName: message.taskName,
        key: message.key,
        byMs: message.byMs,
        at: now,
      });
      return turn.done();
    }
    case 'ChildStarted': {
      if (!state.exists || state.children.includes(message.childRunId)) return noDecision;
      if (state.status === 'CANCELLED') {
        cancelChild(turn, message.childRunId);
        return turn.done();
      }
      turn.record({ type: 'ChildLinked', childRunId: message.childRunId, at: now });
      return turn.done();
    }
    case 'EventReceived':
    case 'SleepElapsed':
    case 'EventsChecked':
      return isForDurableWait(state, message)
        ? conditionHeld(state, message, now)
        : taskConditionHeld(state, message, now);
    case 'DurableCall':
      return recordCall(state, message, now);
    case 'DurableWait':
      return startWait(state, message, now);
    case 'ChildFinished':
      return childFinished(state, message, now);
    case 'ConcurrencyGranted':
      return onGranted(state, message, now);
    case 'Replay': {
      if (!state.exists || !isTerminal(state.status)) return noDecision;
      turn.record({ type: 'RunReplayed', at: now });
      admitRun(turn, now);
      return turn.done();
    }
    default:
      return assertNever(message, 'run message');
  }
}
