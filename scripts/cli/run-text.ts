/** A run as `skein runs get` prints it: its fields, then a table of its tasks. */
import type { RunInfo, RunSummary } from 'skein';
import {
  ago,
  duration,
  fields,
  metadataText,
  paint,
  statusText,
  table,
  truncate,
} from './output.js';

const json = (value: unknown, max = 200) =>
  value === undefined ? '-' : truncate(JSON.stringify(value) ?? 'undefined', max);

const lengthOf = (r: { startedAt: Date | null; createdAt: Date; finishedAt: Date | null }) =>
  r.finishedAt ? r.finishedAt.getTime() - (r.startedAt ?? r.createdAt).getTime() : null;

export function runText(run: RunInfo, now = Date.now()): string {
  const pairs: [string, string][] = [
    ['id', run.id],
    ['name', run.name],
    ['status', statusText(run.status)],
    ['created', `${run.createdAt.toISOString()}  (${ago(run.createdAt, now)})`],
    ['started', run.startedAt ? ago(run.startedAt, now) : '-'],
    [
      'finished',
      run.finishedAt ? `${ago(run.finishedAt, now)}  (took ${duration(lengthOf(run))})` : '-',
    ],
  ];
  if (run.parentRunId) pairs.push(['parent', run.parentRunId]);
  pairs.push(['metadata', metadataText(run.additionalMetadata)]);
  pairs.push(['input', json(run.input)]);
  if (run.status === 'COMPLETED') pairs.push(['output', json(run.output)]);
  if (run.error) pairs.push(['error', paint('red', run.error)]);
  const tasks = table(
    ['TASK', 'STATUS', 'ATTEMPTS', 'WORKER', 'STARTED', 'TOOK', 'ERROR / WAITING FOR'],
    run.tasks.map((t) => [
      t.name,
      statusText(t.status),
      String(t.attempts),
      t.workerId ?? '-',
      ago(t.startedAt, now),
      duration(t.finishedAt && t.startedAt ? t.finishedAt.getTime() - t.startedAt.getTime() : null),
      truncate(t.error ?? t.waitingFor ?? '', 80),
    ]),
  );
  return `${fields(pairs)}\n${run.tasks.length > 0 ? tasks : 'no tasks yet\n'}`;
}

export function runsTable(runs: RunSummary[], now = Date.now()): string {
  return table(
    ['ID', 'NAME', 'STATUS', 'CREATED', 'TOOK', 'ATTEMPTS', 'ERROR / WAITING FOR'],
    runs.map((r) => [
      r.id,
      r.name,
      statusText(r.status) + (r.retrying ? paint('yellow', ' (retrying)') : ''),
      ago(r.createdAt, now),
      duration(r.durationMs),
      String(r.attempts),
      truncate(r.error ?? r.waitingFor ?? '', 60),
    ]),
  );
}
