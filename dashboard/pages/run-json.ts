/** JSON as the pages show it: pretty-printed in a <pre>, escaped by `html`. */
import { html, type Html } from '../html.js';

export function jsonText(value: unknown, indent = 2): string {
  if (value === undefined) return 'null';
  try {
    return JSON.stringify(value, null, indent) ?? 'null';
  } catch {
    return String(value);
  }
}

export function jsonBlock(value: unknown, label?: string): Html {
  return html`<pre${label ? html` aria-label="${label}"` : ''}><code>${jsonText(value)}</code></pre>`;
}

/** One line, cut at `max` characters; the whole value in a disclosure when cut. */
export function jsonInline(value: unknown, max = 160): Html {
  const line = jsonText(value, 0);
  if (line.length <= max) return html`<code>${line}</code>`;
  return html`<details>
    <summary><code>${line.slice(0, max)}…</code></summary>
    ${jsonBlock(value)}
  </details>`;
}
