/**
 * The runs page (`/`, `/runs`): the runs that match the filters in the query string, newest
 * first, a page at a time, with counts by status; new runs and status changes arrive through
 * /live (assets/client.js); selected runs, or all that match, can be cancelled or replayed.
 */
import type { RunCounts, RunSummary } from '../../sdk/index.js';
import type { PageRequest, PageResult } from '../context.js';
import { duration, timeCell } from '../format.js';
import { html, type Html } from '../html.js';
import { RUN_STATUSES, filterParams, parseRunQuery, withParams } from '../run-query.js';

export const PAGE_SIZE = 50;

export async function runsPage({ deps, url }: PageRequest): Promise<PageResult> {
  const params = url.searchParams;
  const { filter, cursor } = parseRunQuery(params);
  const [page, counts] = await Promise.all([
    deps.skein.runs.page({ ...filter, limit: PAGE_SIZE, cursor }),
    deps.skein.runs.counts(filter),
  ]);
  const filters = filterParams(params);
  const statuses = filter.status === undefined ? undefined : [filter.status].flat();
  // New runs are QUEUED and have no error, worker or retries yet: shown live only on the first
  // page of a filter that could match them.
  const insertsNew =
    cursor === undefined &&
    (statuses === undefined || statuses.includes('QUEUED')) &&
    !filter.until &&
    !filter.errorContains &&
    !filter.workerId &&
    !filter.retrying;
  const here = `/runs${filters.size > 0 ? `?${filters}` : ''}`;
  const matching = RUN_STATUSES.reduce((sum, s) => sum + counts[s], 0);
  return {
    title: 'Runs',
    body: html`${filtersForm(params)} ${countsList(params, counts)}
      <form method="post" action="/actions/cancel" id="selected-runs">
        <input type="hidden" name="review" value="1" />
        <input type="hidden" name="return" value="${here}" />
        <div class="actions">
          <button type="submit" formaction="/actions/cancel">Cancel selected</button>
          <button type="submit" formaction="/actions/replay">Replay selected</button>
        </div>
      </form>
      <form method="post" action="/actions/cancel" class="actions">
        <input type="hidden" name="filter" value="${filters.toString()}" />
        <input type="hidden" name="return" value="${here}" />
        <span data-matching>${matching} ${matching === 1 ? 'run matches' : 'runs match'}</span>
        <button type="submit" formaction="/actions/cancel">Cancel all matching</button>
        <button type="submit" formaction="/actions/replay">Replay all matching</button>
      </form>
      <table class="runs" data-live="${filters.toString()}" data-insert="${insertsNew ? '1' : '0'}">
        <caption>
          Runs
        </caption>
        <thead>
          <tr>
            <th scope="col"><span class="visually-hidden">Select</span></th>
            <th scope="col">Status</th>
            <th scope="col">Name</th>
            <th scope="col">Id</th>
            <th scope="col">Started</th>
            <th scope="col">Duration</th>
            <th scope="col">Attempts</th>
            <th scope="col">Error</th>
          </tr>
        </thead>
        <tbody>
          ${page.runs.map(runRow)}
        </tbody>
      </table>
      ${page.runs.length === 0 ? html`<p class="empty">No runs match.</p>` : ''}
      <nav aria-label="Pages" class="pages">
        ${cursor !== undefined ? html`<a href="${here}">Newest runs</a>` : ''}
        ${
          page.nextCursor !== null
            ? html`<a href="${withParams(params, { cursor: page.nextCursor })}">Older runs</a>`
            : ''
        }
      </nav>`,
  };
}

export function runRow(run: RunSummary): Html {
  const href = `/runs/${encodeURIComponent(run.id)}`;
  return html`<tr data-run-id="${run.id}" data-status="${run.status}">
    <td>
      <input
        type="checkbox"
        name="runId"
        value="${run.id}"
        form="selected-runs"
        aria-label="Select run ${run.id}"
      />
    </td>
    <td data-col="status">
      ${run.status}${run.retrying ? html` <span class="badge">retrying</span>` : ''}
    </td>
    <td>${run.name}</td>
    <td><a href="${href}">${run.id}</a></td>
    <td data-col="started">${timeCell(run.startedAt ?? run.createdAt)}</td>
    <td data-col="duration">${duration(run.durationMs)}</td>
    <td data-col="attempts">${run.attempts}</td>
    <td data-col="error">${run.errorClass ?? ''}</td>
  </tr>`;
}

function countsList(params: URLSearchParams, counts: RunCounts): Html {
  return html`<ul class="counts" aria-label="Counts">
    ${RUN_STATUSES.map(
      (s) =>
        html`<li>
          <a href="${withParams(params, { status: s, cursor: null })}">${s} <b>${counts[s]}</b></a>
        </li>`,
    )}
    <li>
      <a href="${withParams(params, { retrying: '1', cursor: null })}"
        >retrying <b>${counts.retrying}</b></a
      >
    </li>
  </ul>`;
}

/** Inputs for a repeatable parameter: one per value, plus an empty one (at least `min`). */
function repeated(param: string, label: string, values: string[], min: number, hint: string) {
  const all = [...values.filter((v) => v.trim() !== ''), ''];
  while (all.length < min) all.push('');
  return all.map(
    (value, i) =>
      html`<label
        >${i === 0 ? label : `${label} ${i + 1}`}
        <input name="${param}" value="${value}" placeholder="${hint}"
      /></label>`,
  );
}

function filtersForm(params: URLSearchParams): Html {
  const statuses = params.getAll('status').map((s) => s.toUpperCase());
  const text = (key: string, label: string, hint: string) =>
    html`<label
      >${label} <input name="${key}" value="${params.get(key) ?? ''}" placeholder="${hint}"
    /></label>`;
  return html`<form role="search" aria-label="Filters" method="get" action="/runs" class="filters">
    <fieldset>
      <legend>Status</legend>
      ${RUN_STATUSES.map(
        (s) =>
          html`<label
            ><input
              type="checkbox"
              name="status"
              value="${s}"
              ${statuses.includes(s) ? html`checked` : ''}
            />
            ${s}</label
          >`,
      )}
      <label
        ><input
          type="checkbox"
          name="retrying"
          value="1"
          ${params.get('retrying') === '1' ? html`checked` : ''}
        />
        retrying</label
      >
    </fieldset>
    ${repeated('name', 'Name', params.getAll('name'), 1, 'task or workflow')}
    ${repeated('meta', 'Metadata', params.getAll('meta'), 2, 'key=value')}
    ${text('since', 'Since', '1h or 2026-12-03T10:00Z')}
    ${text('until', 'Until', '10m or 2026-12-03T11:00Z')} ${text('error', 'Error', 'TypeError')}
    ${text('parent', 'Parent run', 'run id')} ${text('worker', 'Worker', 'worker id')}
    <button type="submit">Apply filters</button>
    <a href="/runs">Clear filters</a>
  </form>`;
}
