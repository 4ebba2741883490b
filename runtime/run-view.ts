/** What `skein.runs.get` shows: a run's state from its journal, with the scheduler's live view on top. */
import type { RunState } from '../actors/run/index.js';
import type { Admission } from '../actors/run/state.js';
import type { JournalEntry } from './journal-entries.js';
import type { HistoryEvent, LiveTask, RunView, TaskView } from './protocol-api.js';
import { waitWords } from './wait-words.js';

function runError(state: RunState): string | null {
  if (state.status === 'FAILED') {
    return Object.entries(state.errors ?? {})
      .map(([task, message]) => (state.spec.kind === 'task' ? message : `${task}: ${message}`))
      .join('; ');
  }
  if (state.status === 'CANCELLED') return state.cancelReason ?? 'cancelled';
  return null;
}

/** What a run or task run waiting for concurrency slots waits for. */
function admissionWait(a: Admission | undefined): string | undefined {
  if (!a || a.released || a.granted >= a.groups.length) return undefined;
  const g = a.groups[a.granted];
  return `a concurrency slot for key '${g.key}' (at most ${g.maxRuns} at once)`;
}

export function runView(state: RunState, live: LiveTask[]): RunView {
  const runWait = admissionWait(state.admission);
  let status: RunView['status'] = state.status;
  // onFailure / onSuccess show once they were queued.
  const shownTasks = Object.values(state.tasks).filter(
    (t) => t.status !== 'PENDING' || !state.spec.tasks.find((s) => s.name === t.name)?.role,
  );
  const tasks = shownTasks.map((t): TaskView => {
    const spec = state.spec.tasks.find((s) => s.name === t.name);
    const parents = spec?.parents ?? [];
    const running = live.find((l) => l.taskName === t.name && l.key === t.key && l.workerId);
    const shown =
      t.status === 'RETRYING' || t.status === 'WAITING'
        ? 'QUEUED'
        : t.status === 'SUSPENDED'
          ? 'RUNNING'
          : t.status;
    if (running && t.status === 'QUEUED') {
      if (status === 'QUEUED') status = 'RUNNING';
      return {
        name: t.name,
        parents,
        status: 'RUNNING',
        attempts: t.attempt,
        workerId: running.workerId ?? null,
        output: null,
        error: null,
        errorClass: null,
        startedAt: running.dispatchedAt ?? null,
        finishedAt: null,
      };
    }
    const waiting =
      admissionWait(t.admission) ??
      (t.status === 'PENDING'
        ? runWait
        : t.status === 'QUEUED'
          ? live.find((l) => l.key === t.key)?.waitingFor
          : t.status === 'WAITING'
            ? (spec?.waitFor && waitWords(spec.waitFor, t.met)) || 'its waitFor conditions'
            : t.status === 'SUSPENDED' && t.waiting?.conditions
              ? waitWords(t.waiting.conditions, Object.keys(t.waiting.met)) || undefined
              : t.status === 'RETRYING'
                ? 'its retry backoff'
                : undefined);
    return {
      ...(waiting !== undefined && { waitingFor: waiting }),
      name: t.name,
      parents,
      status: shown,
      attempts: t.attempt,
      workerId: t.workerId ?? null,
      output: t.output ?? null,
      error: t.error ?? null,
      errorClass: t.errorClass ?? null,
      startedAt: t.startedAt ?? null,
      finishedAt: t.finishedAt ?? null,
    };
  });
  const startedAt = state.startedAt ?? tasks.find((t) => t.startedAt)?.startedAt ?? null;
  return {
    id: state.runId,
    name: state.spec.name,
    status,
    input: state.input,
    output: state.output ?? null,
    error: runError(state),
    errorClass: (state.status === 'FAILED' && state.errorClass) || null,
    additionalMetadata: state.additionalMetadata,
    parentRunId: state.parentRunId ?? null,
    createdAt: state.createdAt,
    startedAt,
    finishedAt: state.finishedAt ?? null,
    tasks,
  };
}

export function historyOf(entries: JournalEntry[]): HistoryEvent[] {
  const out: HistoryEvent[] = [];
  for (const entry of entries) {
    for (const event of entry.ev as { type: string; at?: number }[]) {
      const { type, at, ...data } = event;
      out.push({ seq: out.length + 1, type, at: at ?? entry.at, data });
    }
  }
  return out;
}
