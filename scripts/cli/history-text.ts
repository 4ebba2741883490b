/** A run's history as lines a person reads: `skein runs history` and the demo. */
import type { RunEventRecord } from 'skein';
import { errorText, type TaskError } from '../../actors/run/messages.js';

/** A heading and one line per event; times as offsets in ms from the first event. */
export function historyLines(history: RunEventRecord[]): string[] {
  const start = history[0]?.at.getTime() ?? 0;
  const typeWidth = Math.max(4, ...history.map((e) => e.type.length));
  const lines = [`  ${'seq'.padStart(3)}  ${'+ms'.padStart(6)}  ${'type'.padEnd(typeWidth)}  data`];
  for (const e of history) {
    const offset = `+${e.at.getTime() - start}`;
    lines.push(
      `  ${String(e.seq).padStart(3)}  ${offset.padStart(6)}  ${e.type.padEnd(typeWidth)}  ${summarize(e.data, start)}`,
    );
  }
  return lines;
}

/**
 * One line per event: what a reader needs, not the whole record. The run id and the task
 * run key are in the heading already; timestamps become offsets from the run's start.
 */
function summarize(data: Record<string, unknown>, start: number, max = 100): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(data ?? {})) {
    if (value === undefined || key === 'runId' || key === 'key' || key === 'notify' || key === 'at')
      continue;
    if (isEmptyObject(value)) continue;
    let text: string;
    if (key === 'spec' && value && typeof value === 'object') {
      const spec = value as { kind?: string; name?: string };
      text = `${spec.kind ?? '?'} '${spec.name ?? '?'}'`;
    } else if (key === 'error' && value && typeof value === 'object' && 'message' in value) {
      text = JSON.stringify(errorText(value as TaskError));
    } else if (key.endsWith('At') && typeof value === 'number') {
      text = `+${value - start}`;
    } else {
      text = typeof value === 'string' ? value : JSON.stringify(value);
    }
    if (text.length > 60) text = `${text.slice(0, 57)}...`;
    parts.push(`${key}=${text}`);
  }
  const line = parts.join('  ');
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}

const isEmptyObject = (v: unknown) =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
