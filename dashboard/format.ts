/** How the dashboard writes times and durations. */
import { html, type Html } from './html.js';

/** A time in UTC, to the second, in a <time> element (the client shows it in local time). */
export function timeCell(at: Date | null): Html {
  if (!at) return html`–`;
  const iso = at.toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')}</time>`;
}

/** 850 ms, 12.3 s, 4 min 2 s, 3 h 10 min. */
export function duration(ms: number | null): string {
  if (ms === null) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
