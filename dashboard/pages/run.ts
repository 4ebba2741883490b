/**
 * The run page (`/runs/:runId`): a run's status, input, output and error; its tasks as a graph
 * and one by one with their logs and what a waiting one waits for; the waterfall of attempts;
 * the history, each event a link to the run as it was right after it (`?at=<seq>`, folded by
 * the engine: `runs.get(id, { at })`); parent and child runs; and the actions (cancel, replay,
 * replay from a failed task, push the event a task waits for). assets/run-page.js keeps it
 * current from `/live?runId=`.
 */
import type {
  RunEventRecord,
  RunInfo,
  RunLogLine,
  RunSummary,
  TaskRunInfo,
} from '../../sdk/index.js';
import { ValidationError } from '../../sdk/index.js';
import type { PageRequest, PageResult } from '../context.js';
import { duration, timeCell } from '../format.js';
import { html, type Html } from '../html.js';
import { dagSvg } from './run-dag.js';
import { jsonBlock, jsonInline } from './run-json.js';
import { timelineOf, timelineTable } from './run-timeline.js';
import { awaitedEventKeys } from './run-waits.js';

/** The history shown on one page; longer ones continue on `?after=<seq>`. */
export const HISTORY_PAGE = 1000;
const CHILDREN_SHOWN = 100;
const ENDED = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

const runPath = (id: string) => `/runs/${encodeURIComponent(id)}`;

function wholeNumber(url: URL, name: string, min: number): number | undefined {
  const text = url.searchParams.get(name);
  if (text === null || text === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new ValidationError(`${name} must be a whole number >= ${min}, got '${text}'`);
  return n;
}

export async function runPage({ deps, url, params }: PageRequest): Promise<PageResult> {
  const { skein } = deps;
  const runId = params.runId ?? '';
  const at = wholeNumber(url, 'at', 1);
  const after = wholeNumber(url, 'after', 0) ?? 0;
  const [run, history, logs, children] = await Promise.all([
    skein.runs.get(runId, at === undefined ? {} : { at }),
    skein.runs.history(runId, { after, limit: HISTORY_PAGE }),
    skein.runs.logs(runId),
    skein.runs.page({ parentRunId: runId, limit: CHILDREN_SHOWN }),
  ]);
  const atEvent = at === undefined ? undefined : history.find((e) => e.seq === at);
  const past = at === undefined ? history : history.filter((e) => e.seq <= at);
  const now = atEvent?.at.getTime() ?? Date.now();
  const shownLogs = atEvent ? logs.filter((l) => l.at.getTime() <= now) : logs;
  const waits = awaitedEventKeys(past);
  const here = runPath(run.id);
  return {
    title: `${run.name} ${run.id}`,
    body: html`<link rel="stylesheet" href="/assets/pages.css" />
      <script type="module" src="/assets/run-page.js"></script>
      <div id="run-page" data-run-id="${run.id}" data-at="${at ?? ''}">
        ${at === undefined ? '' : timeTravelNote(here, at, atEvent)} ${summary(run, now)}
        ${at === undefined ? actions(run, here) : ''}
        <section aria-labelledby="data-h">
          <h2 id="data-h">Input, output and error</h2>
          <div class="io">
            <div>
              <h3>Input</h3>
              ${jsonBlock(run.input, 'Input')}
            </div>
            <div>
              <h3>Output</h3>
              ${jsonBlock(run.output, 'Output')}
            </div>
            ${
              run.error
                ? html`<div>
                    <h3>Error</h3>
                    <pre aria-label="Error">${run.error}</pre>
                  </div>`
                : ''
            }
          </div>
        </section>
        <section aria-labelledby="dag-h">
          <h2 id="dag-h">Tasks</h2>
          ${run.tasks.length > 0 ? dagSvg(run.tasks) : html`<p>No tasks queued yet.</p>`}
          ${run.tasks.map((t) => taskPanel(t, shownLogs, waits, here, at === undefined, now))}
        </section>
        <section aria-labelledby="timeline-h">
          <h2 id="timeline-h">Timeline</h2>
          ${timelineTable(timelineOf(past, now), now)}
        </section>
        ${related(run, children.runs, children.nextCursor !== null)}
        <section aria-labelledby="history-h">
          <h2 id="history-h">History</h2>
          ${historyTable(history, here, at)}
          ${
            history.length === HISTORY_PAGE
              ? html`<p>
                  <a href="${here}?after=${history.at(-1)?.seq ?? after}">Later events</a>
                </p>`
              : ''
          }
        </section>
      </div>`,
  };
}

function timeTravelNote(here: string, at: number, e: RunEventRecord | undefined): Html {
  return html`<p class="time-travel" role="note">
    Showing the run as of event ${at}${e ? html` (${e.type}, ${timeCell(e.at)})` : ''}, right after
    it. <a href="${here}">Back to now</a>
  </p>`;
}

/** `now`: the time shown (a past event's, in time travel): what has not finished ran until then. */
function summary(run: RunInfo, now: number): Html {
  const ran =
    run.startedAt === null ? null : (run.finishedAt?.getTime() ?? now) - run.startedAt.getTime();
  const meta = Object.entries(run.additionalMetadata);
  return html`<dl class="summary">
    <dt>Status</dt>
    <dd data-status="${run.status}"><strong>${run.status}</strong></dd>
    <dt>Name</dt>
    <dd>${run.name}</dd>
    <dt>Id</dt>
    <dd><code>${run.id}</code></dd>
    <dt>Created</dt>
    <dd>${timeCell(run.createdAt)}</dd>
    <dt>Started</dt>
    <dd>${timeCell(run.startedAt)}</dd>
    <dt>Finished</dt>
    <dd>${timeCell(run.finishedAt)}</dd>
    <dt>Duration</dt>
    <dd>${duration(ran)}</dd>
    ${
      run.errorClass
        ? html`<dt>Error class</dt>
            <dd>${run.errorClass}</dd>`
        : ''
    }
    ${
      meta.length > 0
        ? html`<dt>Metadata</dt>
            <dd>${meta.map(([k, v]) => html`<code>${k}=${v}</code> `)}</dd>`
        : ''
    }
  </dl>`;
}

/** The first failed task in the graph's order: replay from there keeps what came before it. */
function failedTask(run: RunInfo): TaskRunInfo | undefined {
  return run.tasks.find((t) => t.status === 'FAILED');
}

function actions(run: RunInfo, here: string): Html {
  const hidden = html`<input type="hidden" name="runId" value="${run.id}" />
    <input type="hidden" name="return" value="${here}" />`;
  if (!ENDED.has(run.status))
    return html`<div class="actions">
      <form method="post" action="/actions/cancel">
        ${hidden}<button type="submit">Cancel run</button>
      </form>
    </div>`;
  const failed = failedTask(run);
  return html`<div class="actions">
    <form method="post" action="/actions/replay">
      ${hidden}<button type="submit">Replay run</button>
    </form>
    ${
      failed
        ? html`<form method="post" action="/actions/replay">
            ${hidden}<input type="hidden" name="fromTask" value="${failed.name}" />
            <button type="submit">Replay from failed task</button>
            <span>${failed.name}: the tasks that succeeded before it keep their outputs</span>
          </form>`
        : ''
    }
  </div>`;
}

function taskPanel(
  t: TaskRunInfo,
  logs: readonly RunLogLine[],
  waits: Map<string, string[]>,
  here: string,
  live: boolean,
  now: number,
): Html {
  const id = `task-${encodeURIComponent(t.name)}`;
  const lines = logs.filter((l) => l.taskName === t.name);
  const keys = waits.get(t.name) ?? [];
  const ran =
    t.startedAt === null ? null : (t.finishedAt?.getTime() ?? now) - t.startedAt.getTime();
  return html`<article class="task" aria-labelledby="${id}" data-status="${t.status}">
    <h3 id="${id}">${t.name} <span class="state">${t.status}</span></h3>
    <div class="task-body">
      <dl>
        ${
          t.parents.length > 0
            ? html`<dt>After</dt>
                <dd>${t.parents.join(', ')}</dd>`
            : ''
        }
        <dt>Attempts</dt>
        <dd>${t.attempts}</dd>
        <dt>Worker</dt>
        <dd>${t.workerId ?? '–'}</dd>
        <dt>Ran</dt>
        <dd>${duration(ran)}</dd>
        ${
          t.waitingFor
            ? html`<dt>Waiting for</dt>
                <dd class="waiting">${t.waitingFor}</dd>`
            : ''
        }
        ${
          t.error
            ? html`<dt>Error</dt>
                <dd class="error">${t.error}</dd>`
            : ''
        }
        ${
          t.output !== null
            ? html`<dt>Output</dt>
                <dd>${jsonInline(t.output)}</dd>`
            : ''
        }
      </dl>
      ${live && t.waitingFor && keys.length > 0 ? pushForm(t.name, keys[0], here) : ''}
      <div class="logs">
        <h4>Logs</h4>
        ${
          lines.length === 0
            ? html`<p class="empty">No logs.</p>`
            : html`<ol aria-label="Logs of ${t.name}">
                ${lines.map(
                  (l) =>
                    html`<li data-level="${l.level}">
                      ${timeCell(l.at)} <span class="level">${l.level}</span> ${l.message}
                    </li>`,
                )}
              </ol>`
        }
      </div>
    </div>
  </article>`;
}

function pushForm(taskName: string, key: string, here: string): Html {
  const field = `push-${encodeURIComponent(taskName)}`;
  return html`<form method="post" action="/actions/push-event" class="push">
    <input type="hidden" name="return" value="${here}" />
    <label for="${field}-key">Event key</label>
    <input id="${field}-key" name="key" value="${key}" />
    <label for="${field}-payload">Payload (JSON)</label>
    <textarea id="${field}-payload" name="payload" rows="2">{}</textarea>
    <button type="submit">Push event</button>
  </form>`;
}

function related(run: RunInfo, children: RunSummary[], more: boolean): Html {
  if (!run.parentRunId && children.length === 0) return html``;
  return html`<section aria-labelledby="related-h">
    <h2 id="related-h">Parent and child runs</h2>
    ${
      run.parentRunId
        ? html`<p>Parent run: <a href="${runPath(run.parentRunId)}">${run.parentRunId}</a></p>`
        : ''
    }
    ${
      children.length > 0
        ? html`<table>
              <caption>
                Child runs
              </caption>
              <thead>
                <tr>
                  <th scope="col">Status</th>
                  <th scope="col">Name</th>
                  <th scope="col">Id</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                ${children.map(
                  (c) =>
                    html`<tr data-status="${c.status}">
                      <td data-col="status">${c.status}</td>
                      <td>${c.name}</td>
                      <td><a href="${runPath(c.id)}">${c.id}</a></td>
                      <td>${timeCell(c.createdAt)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
            ${more ? html`<p><a href="/runs?parent=${encodeURIComponent(run.id)}">All child runs</a></p>` : ''}`
        : ''
    }
  </section>`;
}

function historyTable(
  history: readonly RunEventRecord[],
  here: string,
  at: number | undefined,
): Html {
  return html`<table class="history">
    <caption>
      History
    </caption>
    <thead>
      <tr>
        <th scope="col">Seq</th>
        <th scope="col">Time</th>
        <th scope="col">Type</th>
        <th scope="col">Data</th>
        <th scope="col">Time travel</th>
      </tr>
    </thead>
    <tbody>
      ${history.map(
        (
          e,
        ) => html`<tr${e.seq === at ? html` aria-current="step"` : ''}${at !== undefined && e.seq > at ? html` class="later"` : ''}>
<td>${e.seq}</td><td>${timeCell(e.at)}</td><td>${e.type}</td><td>${jsonInline(e.data)}</td>
<td><a href="${here}?at=${e.seq}" aria-label="State after event ${e.seq}">state after this event</a></td>
</tr>`,
      )}
    </tbody>
  </table>`;
}
