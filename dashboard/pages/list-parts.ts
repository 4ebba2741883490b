/** Bits the listing pages (workers, events, schedules, flow control) share. */
import { html, type Html } from '../html.js';

export const runLink = (runId: string): Html =>
  html`<a href="/runs/${encodeURIComponent(runId)}">${runId}</a>`;

/** The pages' own stylesheet (assets/pages.css), linked from each page's body. */
export const PAGES_CSS = html`<link rel="stylesheet" href="/assets/pages.css" />`;

export const empty = (what: string): Html => html`<p class="empty">${what}</p>`;

/** `k=v` pairs as code, or a dash. */
export function pairs(record: Record<string, string | number>): Html {
  const entries = Object.entries(record);
  if (entries.length === 0) return html`–`;
  return html`${entries.map(([k, v]) => html`<code>${k}=${String(v)}</code> `)}`;
}

/** The runs, linked; past `max`, how many more. */
export function runLinks(runIds: readonly string[], max = 10): Html {
  if (runIds.length === 0) return html`–`;
  const shown = runIds.slice(0, max).map((id) => html`${runLink(id)} `);
  return html`${shown}${runIds.length > max ? html`and ${runIds.length - max} more` : ''}`;
}
