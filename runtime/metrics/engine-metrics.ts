/**
 * One engine's metrics: what its parts report through `MetricsSink` (a narrow interface, so
 * a part sees only its own method), and the Prometheus text a scrape gets. Each engine counts
 * what it does itself, so sums across engines are right; what only the leader sees (the
 * queue, the timers, the event router, the runs it reads being created) only the leader reports.
 */
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { SchedulerState } from '../../actors/scheduler/state.js';
import type { QueuedTask } from '../../actors/scheduler/queued-task.js';
import type { JournalEntry } from '../journal-entries.js';
import { rejectionCounts } from '../rejections.js';
import type { HistogramSeries } from './cell-histogram.js';
import { CounterCells } from './counter-cells.js';
import { defineMetrics, type MetricDefinitions } from './registry.js';
import { RunTurnMetrics, type RunBefore } from './run-turns.js';
import { setSchedulerGauges } from './scheduler-gauges.js';

/** What the runtime's parts report. */
export interface MetricsSink {
  /** A run's creating entry, read by the leader's journal tail (not when redelivered). */
  runCreated(entry: JournalEntry): void;
  /** A later run turn this engine appended, with the run's state before it. */
  runTurn(entry: JournalEntry, before: RunBefore): void;
  /** A journal append took `ms`. */
  journalAppended(ms: number): void;
  /** The scheduler sent a queued task run to a worker at `now`. */
  dispatched(task: QueuedTask, now: number): void;
  /** A durable timer fired `ms` after it was due. */
  timerFired(ms: number): void;
  /** The event router took an event `ms` after it was stored. */
  eventRouted(ms: number): void;
}

export interface EngineMetricsSources {
  /** Its rejected messages are counted per logger (rejections.ts). */
  logger: Logger;
  now(): number;
  /** The scheduler's state while this engine leads, else undefined. */
  scheduler(): SchedulerState | undefined;
  leading(): boolean;
}

export class EngineMetrics implements MetricsSink {
  readonly registry = new Registry();
  private readonly m: MetricDefinitions = defineMetrics(this.registry);
  private readonly counters = {
    created: new CounterCells(this.m.runsCreated),
    finished: new CounterCells(this.m.runsFinished),
    attempts: new CounterCells(this.m.taskAttempts),
  };
  private readonly runs = new RunTurnMetrics(this.m, this.counters);
  private readonly scheduleToStart = new Map<string, HistogramSeries>();
  private readonly appends = this.m.journalAppend.labels({});
  private readonly timerLateness = this.m.timerLateness.labels({});
  private routerLagMs = 0;

  constructor(private readonly sources: EngineMetricsSources) {}

  runCreated(entry: JournalEntry) {
    this.runs.creation(entry);
  }

  runTurn(entry: JournalEntry, before: RunBefore) {
    this.runs.turn(entry, before);
  }

  journalAppended(ms: number) {
    this.appends.observe(ms / 1000);
  }

  dispatched(task: QueuedTask, now: number) {
    let child = this.scheduleToStart.get(task.taskName);
    if (!child)
      this.scheduleToStart.set(
        task.taskName,
        (child = this.m.scheduleToStart.labels({ name: task.taskName })),
      );
    child.observe(Math.max(0, now - task.enqueuedAt) / 1000);
  }

  timerFired(ms: number) {
    this.timerLateness.observe(Math.max(0, ms) / 1000);
  }

  eventRouted(ms: number) {
    this.routerLagMs = Math.max(0, ms);
  }

  /** The Prometheus text exposition of every metric, as of now. */
  async render(): Promise<string> {
    for (const cells of Object.values(this.counters)) cells.flush();
    this.m.messagesRejected.reset();
    for (const [reason, n] of Object.entries(rejectionCounts(this.sources.logger)))
      this.m.messagesRejected.inc({ reason }, n);
    setSchedulerGauges(this.m, this.sources.scheduler(), this.sources.now());
    this.m.eventRouterLag.set(this.sources.leading() ? this.routerLagMs / 1000 : 0);
    return this.registry.metrics();
  }

  get contentType() {
    return this.registry.contentType;
  }
}
