/** Human output: aligned tables, relative times, colour only on a terminal; and JSON. */

/** Colour when stdout is a terminal and NO_COLOR is not set (https://no-color.org). */
export function colourOn(stream: NodeJS.WriteStream = process.stdout): boolean {
  return stream.isTTY === true && !process.env.NO_COLOR;
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, cyan: 36, dim: 2, bold: 1 } as const;
export type Colour = keyof typeof CODES;

export function paint(colour: Colour, text: string, on = colourOn()): string {
  return on ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text;
}

const STATUS_COLOURS: Record<string, Colour> = {
  COMPLETED: 'green',
  FAILED: 'red',
  CANCELLED: 'yellow',
  RUNNING: 'cyan',
  QUEUED: 'blue',
  ACTIVE: 'green',
  LOST: 'red',
  STOPPING: 'yellow',
  TRIGGERED: 'green',
  SCHEDULED: 'blue',
};

export const statusText = (status: string) =>
  STATUS_COLOURS[status] ? paint(STATUS_COLOURS[status], status) : status;

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
const width = (text: string) => text.replace(ANSI, '').length;

/** Rows under upper-case headings, columns padded to their widest cell; the last one is not padded. */
export function table(headings: string[], rows: string[][]): string {
  const widths = headings.map((h, i) => Math.max(h.length, ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i] - width(c))))
      .join('  ')
      .trimEnd();
  return [line(headings.map((h) => paint('bold', h))), ...rows.map(line)].join('\n') + '\n';
}

/** `key  value` lines, keys aligned. */
export function fields(pairs: [string, string][]): string {
  const w = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}

/** '3m ago', 'in 5s', '-' for none. */
export function ago(at: Date | null | undefined, now = Date.now()): string {
  if (!at) return '-';
  const ms = now - at.getTime();
  const text = span(Math.abs(ms));
  return ms >= 0 ? `${text} ago` : `in ${text}`;
}

/** A span as its largest whole unit: '850ms', '12s', '3m', '5h', '2d'. */
export function span(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Math.floor(ms / 1000)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m`;
  if (ms < 86_400_000) return `${Math.floor(ms / 3_600_000)}h`;
  return `${Math.floor(ms / 86_400_000)}d`;
}

/** A run's or task's length: '1.24s', '850ms', '3m 12s'. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)}s`;
  return `${Math.floor(ms / 60_000)}m ${Math.floor((ms % 60_000) / 1000)}s`;
}

export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export const metadataText = (m: Record<string, string | number>) =>
  Object.entries(m)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ') || '-';

export const out = (text: string) => void process.stdout.write(text);

/** One JSON document (dates as ISO strings), for scripts. */
export const printJson = (value: unknown) => out(`${JSON.stringify(value)}\n`);

/** A listing: one JSON document with `json`, else `none` for an empty one, else a table. */
export function printList<T>(
  items: T[],
  json: boolean | undefined,
  none: string,
  headings: string[],
  row: (item: T) => string[],
) {
  if (json) printJson(items);
  else if (items.length === 0) out(`${none}\n`);
  else out(table(headings, items.map(row)));
}
