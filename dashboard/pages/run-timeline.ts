/**
 * The waterfall of a run's task attempts, from its history's event times: each attempt from
 * when it was queued, through when a worker started it, to how it ended.
 */
import type { RunEventRecord } from '../../sdk/index.js';
import { duration } from '../format.js';
import { html, type Html } from '../html.js';

export type AttemptOutcome = 'succeeded' | 'failed' | 'cancelled' | 'requeued' | 'open';

export interface Attempt {
  taskName: string;
  attempt: number;
  queuedAt: number;
  startedAt: number | null;
  endedAt: number | null;
  outcome: AttemptOutcome;
  workerId: string | null;
}

export interface Timeline {
  attempts: Attempt[];
  /** The span drawn: the first event to the last (or now, for a run still going). */
  from: number;
  to: number;
}

const RUN_ENDS = new Set(['RunCompleted', 'RunFailed', 'RunCancelled']);

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** `now`: where attempts still open end on the drawing. */
export function timelineOf(history: readonly RunEventRecord[], now: number): Timeline {
  const attempts: Attempt[] = [];
  const open = new Map<string, Attempt>();
  const close = (a: Attempt, at: number, outcome: AttemptOutcome) => {
    a.endedAt = at;
    a.outcome = outcome;
    for (const [k, v] of open) if (v === a) open.delete(k);
  };
  let ended = false;
  for (const e of history) {
    const at = e.at.getTime();
    const taskName = str(e.data.taskName);
    const key = str(e.data.key);
    if (e.type === 'RunReplayed') ended = false;
    if (RUN_ENDS.has(e.type)) {
      ended = true;
      for (const a of [...open.values()]) close(a, at, 'cancelled');
      continue;
    }
    if (!taskName) continue;
    const current = key ? open.get(key) : undefined;
    switch (e.type) {
      case 'TaskQueued': {
        if (!key || current) break; // a durable task resumed: the same attempt goes on
        const attempt = typeof e.data.attempt === 'number' ? e.data.attempt : 1;
        const a: Attempt = {
          taskName,
          attempt,
          queuedAt: at,
          startedAt: null,
          endedAt: null,
          outcome: 'open',
          workerId: null,
        };
        attempts.push(a);
        open.set(key, a);
        break;
      }
      case 'TaskStarted':
        if (current) {
          current.startedAt ??= at;
          current.workerId = str(e.data.workerId) ?? null;
        }
        break;
      case 'TaskSucceeded':
        if (current) close(current, at, 'succeeded');
        break;
      case 'TaskFailed':
        if (current) close(current, at, 'failed');
        break;
      case 'TaskRequeued':
        if (current) {
          current.startedAt = null;
          current.workerId = null;
        }
        break;
      case 'TaskCancelled':
        for (const a of [...open.values()]) if (a.taskName === taskName) close(a, at, 'cancelled');
        break;
    }
  }
  const times = history.map((e) => e.at.getTime());
  const from = times.length > 0 ? Math.min(...times) : now;
  const last = times.length > 0 ? Math.max(...times) : now;
  return { attempts, from, to: ended || open.size === 0 ? last : Math.max(last, now) };
}

const W = 600;

/** A table: one row per attempt, its bar drawn to scale against the run's span. */
export function timelineTable(t: Timeline, now: number): Html {
  if (t.attempts.length === 0) return html`<p>No task attempts yet.</p>`;
  const span = Math.max(1, t.to - t.from);
  // The last pixel is kept for a bar that starts at the end of the span.
  const px = (ms: number) => Math.min(W - 2, Math.round(((ms - t.from) / span) * (W - 2)));
  const rows = t.attempts.map((a) => {
    const end = a.endedAt ?? now;
    const q = px(a.queuedAt);
    const s = a.startedAt === null ? null : px(a.startedAt);
    const e = Math.max(px(end), q + 2);
    const ran = a.startedAt === null ? null : end - a.startedAt;
    return html`<tr data-outcome="${a.outcome}">
      <th scope="row">${a.taskName}</th>
      <td>${a.attempt}</td>
      <td>${a.outcome === 'open' ? (a.startedAt === null ? 'queued' : 'running') : a.outcome}</td>
      <td>${duration(ran)}</td>
      <td>
        <svg class="bar" width="${W}" height="14" viewBox="0 0 ${W} 14" aria-hidden="true">
          <rect class="waited" x="${q}" y="4" width="${Math.max(1, (s ?? e) - q)}" height="6" />
          ${s === null ? '' : html`<rect class="ran" x="${s}" y="1" width="${Math.max(1, e - s)}" height="12" />`}
        </svg>
      </td>
    </tr>`;
  });
  return html`<table class="timeline">
    <caption>
      Attempts
    </caption>
    <thead>
      <tr>
        <th scope="col">Task</th>
        <th scope="col">Attempt</th>
        <th scope="col">Outcome</th>
        <th scope="col">Ran</th>
        <th scope="col">Waterfall (${duration(span)})</th>
      </tr>
    </thead>
    <tbody>
      ${rows}
    </tbody>
  </table>`;
}
