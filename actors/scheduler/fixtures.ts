/** Builders for the scheduler's tests: tasks, messages and effects with sensible defaults. */
import type { SchedulerTurn } from '../testing/scheduler-spec.js';
import type { Heartbeat, SchedulerEffect, SchedulerMessage } from './messages.js';
import type { QueuedTask } from './queued-task.js';

export const LOW = 1;
export const MEDIUM = 2;
export const HIGH = 3;

export const task = (key: string, over: Partial<QueuedTask> = {}): QueuedTask => ({
  key,
  runId: `run-${key}`,
  workflowName: 'wf',
  taskName: 'a',
  attempt: 1,
  maxAttempts: 1,
  priority: LOW,
  enqueuedAt: 0,
  scheduleTimeoutMs: 60_000,
  executionTimeoutMs: 10_000,
  input: null,
  additionalMetadata: {},
  ...over,
});
export const enqueue = (
  key: string,
  over: Partial<QueuedTask> = {},
  redelivered = false,
): SchedulerMessage => ({
  type: 'Enqueue',
  task: task(key, over),
  redelivered,
});
export const heartbeat = (
  workerId: string,
  slots: number,
  over: Partial<Heartbeat> = {},
): SchedulerMessage => ({
  type: 'Heartbeat',
  heartbeat: {
    workerId,
    name: workerId,
    slots,
    serves: [{ name: 'wf', tasks: ['a'] }],
    running: [],
    stopping: false,
    sentAt: 0,
    ...over,
  },
});
export const dispatch = (
  workerId: string,
  key: string,
  over: Partial<QueuedTask> = {},
): SchedulerEffect => ({
  type: 'dispatch',
  workerId,
  task: task(key, over),
});
export const tellWorkerLost = (key: string, workerId: string): SchedulerEffect => ({
  type: 'tellRun',
  runId: `run-${key}`,
  message: { type: 'WorkerLost', id: `lost:${key}:${workerId}`, key, taskName: 'a', workerId },
});
export const tellDispatchUnacked = (
  key: string,
  workerId: string,
  dispatchedAt: number,
): SchedulerEffect => ({
  type: 'tellRun',
  runId: `run-${key}`,
  message: {
    type: 'WorkerLost',
    id: `unacked:${key}:${workerId}:${dispatchedAt}`,
    key,
    taskName: 'a',
    workerId,
    cause: 'unacknowledged',
  },
});
/** The run recorded why `key` left `workerId` (its TaskRequeued, read from the journal). */
export const recorded = (key: string, workerId: string): SchedulerMessage => ({
  type: 'RequeueRecorded',
  key,
  workerId,
});
/** `worker:key` of every dispatch of a turn, in order. */
export const dispatched = (turn: SchedulerTurn) =>
  turn.effects.flatMap((e) => (e.type === 'dispatch' ? [`${e.workerId}:${e.task.key}`] : []));
export const tick: SchedulerMessage = { type: 'Tick' };
export const done = (key: string): SchedulerMessage => ({ type: 'TaskDone', key });
export const defineLimit = (key: string, limit: number, durationMs = 1000): SchedulerMessage => ({
  type: 'RateLimitDefined',
  key,
  limit,
  durationMs,
});
