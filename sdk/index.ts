export { Skein, type SkeinOptions } from './client.js';
export type { NatsOptions, NatsTlsOptions } from '../runtime/nats-options.js';
export { replayHistory, type ReplayReport, type ReplayOptions } from './replay-history.js';
export type { Context, TaskLike, TaskLogger } from './context.js';
export type { DurableContext } from './durable-context.js';
export type { EvictionPolicy } from './suspended-tasks.js';
export type { Duration } from './duration.js';
export {
  Priority,
  StickyStrategy,
  ConcurrencyLimitStrategy,
  WorkerLabelComparator,
  type RunStatus,
  type ConcurrencyExpression,
  type DesiredLabel,
  type RateLimitRef,
  type RateLimitDuration,
} from './enums.js';
export type { RateLimitOptions, RateLimitInfo } from './rate-limits.js';
export type { ConcurrencyKeyInfo } from './concurrency-keys.js';
export {
  SkeinError,
  ValidationError,
  NotFoundError,
  ConnectionError,
  RunFailedError,
  RunCancelledError,
  NonRetryableError,
  TimeoutError,
  NonDeterminismError,
} from './errors.js';
export type { RunRef } from './run-ref.js';
export type {
  RunInfo,
  TaskRunInfo,
  RunEventRecord,
  RunLogLine,
  ListRunsQuery,
  RunFilter,
  RunPageQuery,
  RunPage,
  RunSummary,
  RunOrigin,
  RunCounts,
  HistoryQuery,
  WorkerInfo,
  GetRunOptions,
} from './runs.js';
export type {
  CancelRunOptions,
  ReplayRunOptions,
  BulkRunAction,
  BulkRunActionResult,
} from './run-actions.js';
export type { Task, TaskOptions, DurableTaskOptions, RunManyOpts, CronOpts } from './task.js';
export type { CronRef, CronInfo } from './crons.js';
export type { ScheduledRef, ScheduleInfo } from './schedules.js';
export type { RunOpts, BulkRunItem } from './trigger.js';
export type { Worker, WorkerOptions, Declaration } from './worker.js';
export type {
  Workflow,
  WorkflowOptions,
  WorkflowTaskOptions,
  WorkflowDurableTaskOptions,
  WorkflowTask,
  WorkflowTaskDefaults,
} from './workflow.js';
export {
  SleepCondition,
  UserEventCondition,
  ParentCondition,
  Or,
  type Conditions,
  type ConditionLike,
} from './conditions.js';
export type { PushOptions, StoredEvent, EventInfo, EventListQuery } from './events.js';
