/** The events page (`/events`, `?key=` to narrow): recent pushes, their payloads and the runs each started. */
import type { PageRequest, PageResult } from '../context.js';
import { timeCell } from '../format.js';
import { html } from '../html.js';
import { empty, PAGES_CSS, pairs, runLinks } from './list-parts.js';
import { jsonInline } from './run-json.js';

export const EVENTS_SHOWN = 100;

export async function eventsPage({ deps, url }: PageRequest): Promise<PageResult> {
  const key = url.searchParams.get('key')?.trim() || undefined;
  const events = await deps.skein.events.list({ key, limit: EVENTS_SHOWN });
  return {
    title: 'Events',
    body: html`${PAGES_CSS}
      <form method="get" action="/events" role="search" aria-label="Events by key">
        <label for="events-key">Key</label>
        <input id="events-key" name="key" value="${key ?? ''}" />
        <button type="submit">Show</button>
      </form>
      <form method="post" action="/actions/push-event" class="stacked" aria-label="Push an event">
        <input type="hidden" name="return" value="/events" />
        <label for="push-key">Event key</label>
        <input id="push-key" name="key" required value="${key ?? ''}" />
        <label for="push-payload">Payload (JSON)</label>
        <textarea id="push-payload" name="payload" rows="3">{}</textarea>
        <div><button type="submit">Push event</button></div>
      </form>
      <table>
        <caption>
          Events
        </caption>
        <thead>
          <tr>
            <th scope="col">Pushed</th>
            <th scope="col">Key</th>
            <th scope="col">Id</th>
            <th scope="col">Payload</th>
            <th scope="col">Metadata</th>
            <th scope="col">Runs started</th>
          </tr>
        </thead>
        <tbody>
          ${events.map(
            (e) =>
              html`<tr>
                <td>${timeCell(e.at)}</td>
                <th scope="row">${e.key}</th>
                <td><code>${e.eventId}</code></td>
                <td>${jsonInline(e.payload)}</td>
                <td>${pairs(e.additionalMetadata)}</td>
                <td>${runLinks(e.runIds)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${events.length === 0 ? empty('No events pushed.') : ''}`,
  };
}
