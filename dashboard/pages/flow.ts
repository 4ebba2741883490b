/** The flow control page (`/flow`): concurrency keys with the runs holding and awaiting slots; rate limits and their windows. */
import type { PageRequest, PageResult } from '../context.js';
import { duration, timeCell } from '../format.js';
import { html } from '../html.js';
import { empty, PAGES_CSS, runLinks } from './list-parts.js';

export async function flowPage({ deps }: PageRequest): Promise<PageResult> {
  const [keys, limits] = await Promise.all([
    deps.skein.concurrency.list(),
    deps.skein.rateLimits.list(),
  ]);
  return {
    title: 'Flow control',
    body: html`${PAGES_CSS}
      <table>
        <caption>
          Concurrency keys
        </caption>
        <thead>
          <tr>
            <th scope="col">Group</th>
            <th scope="col">Key</th>
            <th scope="col">Slots used</th>
            <th scope="col">Strategy</th>
            <th scope="col">Holders</th>
            <th scope="col">Waiters</th>
          </tr>
        </thead>
        <tbody>
          ${keys.map(
            (k) =>
              html`<tr>
                <td>${k.group}</td>
                <th scope="row">${k.key}</th>
                <td>${k.holders.length} of ${k.maxRuns}</td>
                <td>${k.strategy}</td>
                <td>${runLinks(k.holders)}</td>
                <td>
                  ${k.waiters.length > 0 ? html`${k.waiters.length}: ${runLinks(k.waiters)}` : '–'}
                </td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${keys.length === 0 ? empty('No run holds or awaits a concurrency slot.') : ''}
      <table>
        <caption>
          Rate limits
        </caption>
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Used</th>
            <th scope="col">Window</th>
            <th scope="col">Window ends</th>
          </tr>
        </thead>
        <tbody>
          ${limits.map(
            (l) =>
              html`<tr>
                <th scope="row">${l.key}</th>
                <td>${l.used} of ${l.limit}</td>
                <td>${duration(l.durationMs)}</td>
                <td>${timeCell(l.windowEndsAt)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${limits.length === 0 ? empty('No rate limits defined.') : ''}`,
  };
}
