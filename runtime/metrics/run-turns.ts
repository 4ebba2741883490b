/**
 * Counts what run turns record: attempts that ended, runs that ended, their durations. Read
 * from each journal entry's events (no extra read or write); label children are resolved once
 * per name, so a turn costs a few map lookups.
 */
import type { RunEvent, RunState } from '../../actors/run/index.js';
import type { JournalEntry } from '../journal-entries.js';
import type { Cell, CounterCells } from './counter-cells.js';
import {
  ATTEMPT_OUTCOMES,
  FINAL_STATUSES,
  type AttemptOutcome,
  type FinalStatus,
  type MetricDefinitions,
} from './registry.js';

interface Observe {
  observe(value: number): void;
}

/** What a turn needs of the run's state before it: its name, creation time and tasks. */
export type RunBefore = Pick<RunState, 'spec' | 'createdAt' | 'tasks'>;

/** An attempt in one of these is live: cancelling it ends it. */
const LIVE = new Set(['QUEUED', 'RUNNING', 'SUSPENDED']);

const secondsBetween = (from: number, to: number) => Math.max(0, to - from) / 1000;

/** A run's first entry, written by whoever created the run (a client, as a rule). */
export const isCreation = (entry: JournalEntry) =>
  (entry.ev[0] as { type?: string } | undefined)?.type === 'RunTriggered';

/** The counters a turn adds to (their cells are handed to prom-client when scraped). */
export interface RunCounters {
  created: CounterCells<'name'>;
  finished: CounterCells<'name' | 'status'>;
  attempts: CounterCells<'workflow' | 'task' | 'outcome'>;
}

export class RunTurnMetrics {
  private readonly created = new Map<string, Cell>();
  private readonly attempts = new Map<string, Map<string, Record<AttemptOutcome, Cell>>>();
  private readonly taskDurations = new Map<string, Observe>();
  private readonly finished = new Map<string, Record<FinalStatus, [Cell, Observe]>>();

  constructor(
    private readonly m: MetricDefinitions,
    private readonly counters: RunCounters,
  ) {}

  /** A run's creating entry: the run, and whatever else that first turn recorded. */
  creation(entry: JournalEntry) {
    const first = entry.ev[0] as Extract<RunEvent, { type: 'RunTriggered' }>;
    const name = first.spec.name;
    let cell = this.created.get(name);
    if (!cell) this.created.set(name, (cell = this.counters.created.cell({ name })));
    cell.value++;
    this.turn(entry, { spec: first.spec, createdAt: first.at, tasks: {} });
  }

  /** Any later turn, with the run's state before it. */
  turn(entry: JournalEntry, before: RunBefore) {
    const workflow = before.spec.name;
    let started: { key: string; at: number } | undefined;
    for (const event of entry.ev as RunEvent[]) {
      switch (event.type) {
        case 'TaskStarted':
          started = event;
          break;
        case 'TaskSucceeded':
        case 'TaskFailed': {
          const timedOut = event.type === 'TaskFailed' && event.error?.name === 'TimeoutError';
          const outcome =
            event.type === 'TaskSucceeded' ? 'succeeded' : timedOut ? 'timed_out' : 'failed';
          this.attempt(workflow, event.taskName, outcome);
          const task = before.tasks[event.taskName];
          const startedAt =
            started?.key === event.key
              ? started.at
              : task?.status === 'RUNNING'
                ? task.startedAt
                : undefined;
          if (startedAt !== undefined) this.taskDuration(event.taskName, event.at - startedAt);
          break;
        }
        case 'TaskRequeued':
          this.attempt(workflow, event.taskName, 'lost');
          break;
        case 'TaskCancelled':
          if (LIVE.has(before.tasks[event.taskName]?.status ?? ''))
            this.attempt(workflow, event.taskName, 'cancelled');
          break;
        case 'RunCompleted':
          this.runFinished(workflow, 'COMPLETED', secondsBetween(before.createdAt, event.at));
          break;
        case 'RunFailed':
          this.runFinished(workflow, 'FAILED', secondsBetween(before.createdAt, event.at));
          break;
        case 'RunCancelled':
          this.runFinished(workflow, 'CANCELLED', secondsBetween(before.createdAt, event.at));
          break;
      }
    }
  }

  private attempt(workflow: string, task: string, outcome: AttemptOutcome) {
    let byTask = this.attempts.get(workflow);
    if (!byTask) this.attempts.set(workflow, (byTask = new Map()));
    let children = byTask.get(task);
    if (!children) {
      const cells = this.counters.attempts;
      children = Object.fromEntries(
        ATTEMPT_OUTCOMES.map((outcome) => [outcome, cells.cell({ workflow, task, outcome })]),
      ) as Record<AttemptOutcome, Cell>;
      byTask.set(task, children);
    }
    children[outcome].value++;
  }

  private taskDuration(task: string, ms: number) {
    let child = this.taskDurations.get(task);
    if (!child) this.taskDurations.set(task, (child = this.m.taskDuration.labels({ name: task })));
    child.observe(Math.max(0, ms) / 1000);
  }

  private runFinished(name: string, status: FinalStatus, seconds: number) {
    let children = this.finished.get(name);
    if (!children) {
      children = Object.fromEntries(
        FINAL_STATUSES.map((s): [FinalStatus, [Cell, Observe]] => [
          s,
          [
            this.counters.finished.cell({ name, status: s }),
            this.m.runDuration.labels({ name, status: s }),
          ],
        ]),
      ) as Record<FinalStatus, [Cell, Observe]>;
      this.finished.set(name, children);
    }
    const [count, duration] = children[status];
    count.value++;
    duration.observe(seconds);
  }
}
