/** HTML built by tagged templates: every interpolated value is escaped unless it is `Html`. */

export class Html {
  constructor(readonly text: string) {}
  toString() {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

const NEEDS_ESCAPE = /[&<>"']/;

export function escapeHtml(text: string): string {
  // Most values (names, ids, times) have nothing to escape: tested before a replace is paid.
  return NEEDS_ESCAPE.test(text) ? text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c) : text;
}

type Part = Html | string | number | boolean | null | undefined | Part[];

function render(part: Part): string {
  if (typeof part === 'string') return escapeHtml(part);
  if (part instanceof Html) return part.text;
  if (typeof part === 'number') return String(part);
  if (part === null || part === undefined || part === false) return '';
  // Joined, not concatenated: one flat string, which the response writes without flattening.
  if (Array.isArray(part)) return part.map(render).join('');
  return escapeHtml(String(part));
}

/** `html\`<td>${name}</td>\``: `name` is escaped; arrays are joined; null, undefined and false render nothing. */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new Html(out);
}

/** Markup that is already safe (a constant, or built by `html`). */
export function raw(text: string): Html {
  return new Html(text);
}
