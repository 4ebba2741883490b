/** The crons and schedules page (`/schedules`): next and last runs, and a Delete button for each. */
import type { PageRequest, PageResult } from '../context.js';
import { timeCell } from '../format.js';
import { html, type Html } from '../html.js';
import { empty, PAGES_CSS, runLink } from './list-parts.js';

function deleteForm(action: 'delete-cron' | 'delete-schedule', id: string, what: string): Html {
  return html`<form method="post" action="/actions/${action}">
    <input type="hidden" name="id" value="${id}" />
    <input type="hidden" name="return" value="/schedules" />
    <button type="submit" aria-describedby="${action}-${id}">Delete</button>
    <span id="${action}-${id}" class="visually-hidden">${what}</span>
  </form>`;
}

export async function schedulesPage({ deps }: PageRequest): Promise<PageResult> {
  const [crons, schedules] = await Promise.all([
    deps.skein.crons.list(),
    deps.skein.schedules.list(),
  ]);
  crons.sort((a, b) => (a.nextRunAt?.getTime() ?? Infinity) - (b.nextRunAt?.getTime() ?? Infinity));
  schedules.sort((a, b) => a.triggerAt.getTime() - b.triggerAt.getTime());
  return {
    title: 'Crons and schedules',
    body: html`${PAGES_CSS}
      <table>
        <caption>
          Crons
        </caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Runs</th>
            <th scope="col">Expression</th>
            <th scope="col">Next run</th>
            <th scope="col">Last run</th>
            <th scope="col"><span class="visually-hidden">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          ${crons.map(
            (c) =>
              html`<tr>
                <th scope="row">
                  ${c.name}${c.declarative ? html` <span class="badge">declared</span>` : ''}
                </th>
                <td>${c.workflowName}</td>
                <td><code>${c.expression}</code> ${c.timezone}</td>
                <td>${timeCell(c.nextRunAt)}</td>
                <td>${timeCell(c.lastRunAt)} ${c.lastRunId ? runLink(c.lastRunId) : ''}</td>
                <td>${deleteForm('delete-cron', c.id, `cron ${c.name} of ${c.workflowName}`)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${crons.length === 0 ? empty('No crons.') : ''}
      <table>
        <caption>
          Schedules
        </caption>
        <thead>
          <tr>
            <th scope="col">Runs</th>
            <th scope="col">At</th>
            <th scope="col">Status</th>
            <th scope="col">Run</th>
            <th scope="col"><span class="visually-hidden">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          ${schedules.map(
            (s) =>
              html`<tr>
                <th scope="row">${s.workflowName}</th>
                <td>${timeCell(s.triggerAt)}</td>
                <td>${s.status}</td>
                <td>
                  ${s.status === 'TRIGGERED' ? runLink(s.runId) : html`<code>${s.runId}</code>`}
                </td>
                <td>
                  ${
                    s.status === 'SCHEDULED'
                      ? deleteForm('delete-schedule', s.id, `schedule of ${s.workflowName}`)
                      : ''
                  }
                </td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${schedules.length === 0 ? empty('No schedules.') : ''}`,
  };
}
