/**
 * Every metric the engine exports, defined once (names, labels, units, buckets: docs/API.md
 * "Metrics"). Each engine has a registry of its own, never prom-client's global one, so two
 * engines in one process (tests do that) do not share series.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { CellHistogram } from './cell-histogram.js';

/** Latencies of the bus: a journal append, a timer's lateness, a wait for a worker. */
const FAST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** A task's or a run's life: from milliseconds to a day. */
const LONG_BUCKETS = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600,
  86400,
];

/** Each run status a run ends in, as the run statuses are spelled. */
export const FINAL_STATUSES = ['COMPLETED', 'FAILED', 'CANCELLED'] as const;
export type FinalStatus = (typeof FINAL_STATUSES)[number];
/** How one task run attempt ended. */
export const ATTEMPT_OUTCOMES = ['succeeded', 'failed', 'timed_out', 'cancelled', 'lost'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];
/** The states `skein_worker_slots` reports for each worker. */
export const SLOT_STATES = ['busy', 'free', 'durable_busy', 'durable_free'] as const;

export type MetricDefinitions = ReturnType<typeof defineMetrics>;

export function defineMetrics(registry: Registry) {
  const registers = [registry];
  return {
    runsCreated: new Counter({
      name: 'skein_runs_created_total',
      help: 'Runs created (read from the journal by the leader)',
      labelNames: ['name'] as const,
      registers,
    }),
    runsFinished: new Counter({
      name: 'skein_runs_finished_total',
      help: 'Runs that ended, by status, counted by the engine that recorded the end',
      labelNames: ['name', 'status'] as const,
      registers,
    }),
    taskAttempts: new Counter({
      name: 'skein_task_attempts_total',
      help: 'Task run attempts that ended, by outcome',
      labelNames: ['workflow', 'task', 'outcome'] as const,
      registers,
    }),
    messagesRejected: new Counter({
      name: 'skein_messages_rejected_total',
      help: 'Messages refused at the bus boundary, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    tasksQueued: new Gauge({
      name: 'skein_tasks_queued',
      help: 'Task runs waiting for a worker (leader only)',
      labelNames: ['name'] as const,
      registers,
    }),
    queueOldest: new Gauge({
      name: 'skein_queue_oldest_seconds',
      help: 'How long the oldest task run waiting for a worker has waited (leader only)',
      labelNames: ['name'] as const,
      registers,
    }),
    workerSlots: new Gauge({
      name: 'skein_worker_slots',
      help: "Each live worker's slots, busy and free (leader only)",
      labelNames: ['worker', 'state'] as const,
      registers,
    }),
    scheduleToStart: new CellHistogram<'name'>(
      registry,
      'skein_schedule_to_start_seconds',
      'From a task run queued to its dispatch to a worker (leader only)',
      LONG_BUCKETS,
    ),
    taskDuration: new CellHistogram<'name'>(
      registry,
      'skein_task_duration_seconds',
      "A task run attempt's time on its worker, as the worker reports it",
      LONG_BUCKETS,
    ),
    runDuration: new CellHistogram<'name' | 'status'>(
      registry,
      'skein_run_duration_seconds',
      'From a run created to its end',
      LONG_BUCKETS,
    ),
    journalAppend: new CellHistogram<never>(
      registry,
      'skein_journal_append_seconds',
      "An actor turn's journal append, until JetStream acknowledged it",
      FAST_BUCKETS,
    ),
    timerLateness: new CellHistogram<never>(
      registry,
      'skein_timer_lateness_seconds',
      'How long after its due time a durable timer fired (leader only)',
      FAST_BUCKETS,
    ),
    eventRouterLag: new Gauge({
      name: 'skein_event_router_lag_seconds',
      help: 'How long the last event routed waited in its stream (leader only)',
      registers,
    }),
  };
}
