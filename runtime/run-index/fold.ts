/**
 * The run index's fold: how one run journal entry changes a run's indexed record. Pure (no
 * I/O, no clock); it updates the record it is given in place, since a long durable run has
 * thousands of entries and copying its record for each would cost their square.
 */
import type { RunEvent } from '../../actors/run/events.js';
import type { RunStatus } from '../../actors/run/state.js';
import type { ConditionExpr } from '../../actors/run/spec.js';
import { errorText } from '../../actors/run/messages.js';
import { EVENT_META } from '../ids.js';
import type { JournalEntry } from '../journal-entries.js';
import type { RunOrigin, RunSummaryView } from '../protocol-api.js';

export type RunKind = RunSummaryView['kind'];

interface IndexedTask {
  attempt: number;
  /** What it waits on now. */
  waiting?: string;
  /** What its declared waitFor conditions are, for when it waits on them. */
  waitFor?: string;
}

/** One run in the index. */
export interface IndexedRun {
  id: string;
  name: string;
  kind: RunKind;
  status: RunStatus;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  error?: string;
  errorClass?: string;
  parentRunId?: string;
  additionalMetadata: Record<string, string>;
  workerIds: string[];
  tasks: Record<string, IndexedTask>;
  /** Waits for the run's own concurrency slots. */
  admissionWait?: boolean;
  /** Failed attempts since it was (re)started. */
  failedAttempts: number;
  /** Stream sequences of its journal entries (what deleting the run removes). */
  journalSeqs: number[];
  /** The run's own retention, when its declaration set one (`spec.retentionMs`). */
  retentionMs?: number;
}

const TERMINAL = new Set<RunStatus>(['COMPLETED', 'FAILED', 'CANCELLED']);
export const isFinished = (status: RunStatus) => TERMINAL.has(status);

/** Still going, with failed attempts behind it. */
export const isRetrying = (r: IndexedRun) => !isFinished(r.status) && r.failedAttempts > 0;

/**
 * Folds `entry` (stored at stream sequence `seq`) into `run`, the run's record so far, or
 * creates the record from its `RunTriggered`. Undefined: not a run the index can know (an
 * entry of a run whose creation it never saw).
 */
export function foldEntry(
  run: IndexedRun | undefined,
  runId: string,
  seq: number,
  entry: JournalEntry,
): IndexedRun | undefined {
  for (const event of entry.ev as RunEvent[]) {
    if (event.type === 'RunTriggered') run = created(runId, event);
    else if (run) applyEvent(run, event);
  }
  run?.journalSeqs.push(seq);
  return run;
}

function created(runId: string, e: Extract<RunEvent, { type: 'RunTriggered' }>): IndexedRun {
  const spec = e.spec ?? { name: '', kind: 'task', tasks: [] };
  const tasks: Record<string, IndexedTask> = {};
  for (const t of spec.tasks ?? []) {
    tasks[t.name] = { attempt: 0, ...(t.waitFor && { waitFor: describeConditions(t.waitFor) }) };
  }
  return {
    id: runId,
    name: String(spec.name),
    kind: spec.kind === 'workflow' ? 'workflow' : spec.tasks?.[0]?.durable ? 'durable' : 'task',
    status: 'QUEUED',
    createdAt: e.at,
    parentRunId: e.parentRunId,
    additionalMetadata: e.additionalMetadata ?? {},
    workerIds: [],
    tasks,
    failedAttempts: 0,
    journalSeqs: [],
    ...(spec.retentionMs !== undefined && { retentionMs: spec.retentionMs }),
  };
}

function taskOf(run: IndexedRun, name: string): IndexedTask {
  return (run.tasks[name] ??= { attempt: 0 });
}

function applyEvent(run: IndexedRun, e: RunEvent) {
  switch (e.type) {
    case 'TaskQueued': {
      const t = taskOf(run, e.taskName);
      t.attempt = Math.max(t.attempt, e.attempt);
      t.waiting = undefined;
      run.admissionWait = undefined;
      return;
    }
    case 'RetryScheduled': {
      const t = taskOf(run, e.taskName);
      t.attempt = Math.max(t.attempt, e.attempt);
      t.waiting = `a retry of '${e.taskName}' (attempt ${e.attempt})`;
      return;
    }
    case 'TaskStarted':
      taskOf(run, e.taskName).waiting = undefined;
      if (!run.workerIds.includes(e.workerId)) run.workerIds.push(e.workerId);
      if (!isFinished(run.status)) run.status = 'RUNNING';
      run.startedAt ??= e.at;
      return;
    case 'TaskSuspended':
      if (!isFinished(run.status)) run.status = 'RUNNING';
      return;
    case 'TaskFailed':
      taskOf(run, e.taskName).waiting = undefined;
      run.failedAttempts++;
      if (!isFinished(run.status)) {
        run.error = errorText(e.error);
        run.errorClass = e.error.name;
      }
      return;
    case 'TaskSucceeded':
    case 'TaskCancelled':
    case 'TaskSkipped':
    case 'DurableCallRecorded':
      taskOf(run, e.taskName).waiting = undefined;
      return;
    case 'TaskWaiting': {
      const t = taskOf(run, e.taskName);
      t.waiting = t.waitFor ?? `the conditions of '${e.taskName}'`;
      return;
    }
    case 'DurableWaitStarted':
      taskOf(run, e.taskName).waiting =
        e.kind === 'child'
          ? `child run '${e.childRunId ?? e.callKey}'`
          : e.conditions
            ? describeConditions(e.conditions)
            : e.callKey;
      return;
    case 'AdmissionRequested':
      if (e.taskName) taskOf(run, e.taskName).waiting = 'a concurrency slot';
      else run.admissionWait = true;
      return;
    case 'RunCompleted':
      finish(run, 'COMPLETED', e.at);
      run.error = run.errorClass = undefined;
      return;
    case 'RunFailed':
      finish(run, 'FAILED', e.at);
      run.error = Object.entries(e.errors ?? {})
        .map(([task, message]) => (run.kind === 'workflow' ? `${task}: ${message}` : message))
        .join('; ');
      run.errorClass = e.errorClass ?? run.errorClass;
      return;
    case 'RunCancelled':
      finish(run, 'CANCELLED', e.at);
      run.error = e.reason || 'cancelled';
      run.errorClass = undefined;
      return;
    case 'RunReplayed':
      Object.assign(run, {
        status: 'QUEUED',
        startedAt: undefined,
        finishedAt: undefined,
        error: undefined,
        errorClass: undefined,
        admissionWait: undefined,
        failedAttempts: 0,
        workerIds: [],
      });
      for (const t of Object.values(run.tasks)) {
        t.attempt = 0;
        t.waiting = undefined;
      }
      return;
    case 'RunTriggered':
    case 'TaskRequeued':
    case 'TimeoutRefreshed':
    case 'ChildLinked':
    case 'ConditionMet':
    case 'AdmissionGranted':
    case 'AdmissionReleased':
    case 'ChildFinished':
      return;
    default:
      // Events of a newer Skein: nothing the index shows.
      return;
  }
}

function finish(run: IndexedRun, status: RunStatus, at: number) {
  run.status = status;
  run.finishedAt = at;
  run.admissionWait = undefined;
  for (const t of Object.values(run.tasks)) t.waiting = undefined;
}

/** Conditions in a line: AND over the groups, OR within one. */
export function describeConditions(expr: ConditionExpr): string {
  const one = (c: ConditionExpr[number][number]) =>
    c.kind === 'event'
      ? `event '${c.eventKey}'`
      : c.kind === 'sleep'
        ? c.untilMs !== undefined
          ? `a sleep until ${new Date(c.untilMs).toISOString()}`
          : `a sleep of ${c.ms} ms`
        : `task '${c.parent}'`;
  return expr
    .map((group) => group.map(one).join(' or '))
    .filter(Boolean)
    .join(' and ');
}

function originOf(meta: Record<string, string>): RunOrigin | null {
  if (meta[EVENT_META.id])
    return { type: 'event', id: meta[EVENT_META.id], name: meta[EVENT_META.key] ?? null };
  if (meta.skein__cron_id)
    return { type: 'cron', id: meta.skein__cron_id, name: meta.skein__cron_name ?? null };
  if (meta.skein__schedule_id) return { type: 'schedule', id: meta.skein__schedule_id, name: null };
  return null;
}

function waitingOf(run: IndexedRun): string | null {
  if (isFinished(run.status)) return null;
  if (run.admissionWait) return 'a concurrency slot';
  for (const [name, t] of Object.entries(run.tasks)) {
    if (t.waiting) return run.kind === 'workflow' ? `${t.waiting} (task '${name}')` : t.waiting;
  }
  return null;
}

/**
 * The record as `runs.page` shows it; `status` and `workerIds` as runs.get shows them (with the
 * scheduler's dispatches: see store.ts, LiveRuns).
 */
export function summaryOf(
  run: IndexedRun,
  status: RunStatus = run.status,
  workerIds: string[] = run.workerIds,
): RunSummaryView {
  let attempts = 0;
  for (const t of Object.values(run.tasks)) attempts += t.attempt;
  const finishedAt = isFinished(status) ? (run.finishedAt ?? null) : null;
  return {
    id: run.id,
    name: run.name,
    kind: run.kind,
    status,
    createdAt: run.createdAt,
    startedAt: run.startedAt ?? null,
    finishedAt,
    durationMs: finishedAt === null ? null : finishedAt - (run.startedAt ?? run.createdAt),
    attempts,
    error: run.error ?? null,
    errorClass: run.errorClass ?? null,
    parentRunId: run.parentRunId ?? null,
    additionalMetadata: run.additionalMetadata,
    startedBy: originOf(run.additionalMetadata),
    workerIds: [...workerIds],
    retrying: isRetrying(run),
    waitingFor: waitingOf(run),
  };
}
