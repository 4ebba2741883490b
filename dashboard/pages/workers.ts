/** The workers page (`/workers`): each worker's status, slots in use, labels, what it serves, last heartbeat. */
import type { PageRequest, PageResult } from '../context.js';
import { timeCell } from '../format.js';
import { html } from '../html.js';
import { empty, PAGES_CSS, pairs } from './list-parts.js';

export async function workersPage({ deps }: PageRequest): Promise<PageResult> {
  const workers = await deps.skein.workers.list();
  workers.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  return {
    title: 'Workers',
    body: html`${PAGES_CSS}
      <table>
        <caption>
          Workers
        </caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Id</th>
            <th scope="col">Status</th>
            <th scope="col">Slots used</th>
            <th scope="col">Slots free</th>
            <th scope="col">Labels</th>
            <th scope="col">Serves</th>
            <th scope="col">Last heartbeat</th>
          </tr>
        </thead>
        <tbody>
          ${workers.map(
            (w) =>
              html`<tr data-status="${w.status}">
                <th scope="row">${w.name}</th>
                <td><code>${w.id}</code></td>
                <td data-col="status">${w.status}</td>
                <td>${w.runningCount}</td>
                <td>${Math.max(0, w.slots - w.runningCount)}</td>
                <td>${pairs(w.labels)}</td>
                <td>
                  ${w.serves.join(', ')}
                  ${w.conflicts.length > 0 ? html`<p class="error">${w.conflicts.join('; ')}</p>` : ''}
                </td>
                <td>${timeCell(w.lastHeartbeatAt)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${workers.length === 0 ? empty('No workers have registered.') : ''}`,
  };
}
