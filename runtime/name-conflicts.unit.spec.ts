/** Names registered with different shapes by running workers: listed per worker, logged once. */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ConflictLog, nameConflicts } from './name-conflicts.js';
import { shapeOf, type WorkerRecord } from './protocol.js';
import type { TaskSpec } from '../actors/run/spec.js';

const spec = (name: string): TaskSpec => ({
  name,
  retries: 0,
  executionTimeoutMs: 1000,
  scheduleTimeoutMs: 1000,
});

const worker = (workerId: string, serves: WorkerRecord['serves'], sentAt = 0): WorkerRecord => ({
  workerId,
  name: workerId,
  slots: 1,
  serves,
  running: [],
  stopping: false,
  sentAt,
});
const asTask = { name: 'step', shape: 'task', tasks: ['step'] };
const asWorkflow = { name: 'step', shape: 'workflow [a; b]', tasks: ['a', 'b'] };

describe('shapeOf', () => {
  it('reads kind, durability, tasks, parents and roles; not the order of declaration', () => {
    expect(shapeOf({ name: 't', kind: 'task', tasks: [spec('t')] })).toBe('task');
    expect(shapeOf({ name: 't', kind: 'task', tasks: [{ ...spec('t'), durable: true }] })).toBe(
      'task (durable)',
    );
    const tasks = [
      { ...spec('charge'), parents: ['validate'], retries: 3 },
      spec('validate'),
      { ...spec('on_failure'), role: 'onFailure' as const },
    ];
    const shape = 'workflow [charge after validate; onFailure; validate]';
    expect(shapeOf({ name: 'wf', kind: 'workflow', tasks })).toBe(shape);
    // Retries and timeouts may differ between versions of one declaration.
    const reordered = [...tasks].reverse().map((t) => ({ ...t, retries: 0 }));
    expect(shapeOf({ name: 'wf', kind: 'workflow', tasks: reordered })).toBe(shape);
  });
});

describe('nameConflicts', () => {
  it('gives each worker one line per name another worker registers with another shape', () => {
    const conflicts = nameConflicts([
      worker('w1', [asTask, { name: 'x', shape: 'task', tasks: ['x'] }]),
      worker('w2', [asWorkflow, { name: 'x', shape: 'task', tasks: ['x'] }]),
      worker('w3', [asWorkflow]),
    ]);
    expect(conflicts.get('w1')).toEqual(["'step' is a task here, but a workflow [a; b] on w2, w3"]);
    expect(conflicts.get('w2')).toEqual(["'step' is a workflow [a; b] here, but a task on w1"]);
    expect(conflicts.get('w3')).toEqual(["'step' is a workflow [a; b] here, but a task on w1"]);
  });
});

describe('ConflictLog', () => {
  const logged = () => {
    const lines: string[] = [];
    const log = new ConflictLog(
      pino({ level: 'error' }, { write: (l: string) => void lines.push(l) }),
      10_000,
    );
    return { lines, log };
  };

  it('logs a conflict once as an error, again only after a worker of it left', () => {
    const { lines, log } = logged();
    log.seen(worker('w1', [asTask]), 0);
    expect(lines).toEqual([]);
    log.seen(worker('w2', [asWorkflow]), 0);
    log.seen(worker('w1', [asTask], 2000), 2000);
    log.seen(worker('w2', [asWorkflow], 2000), 2000);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 50, name: 'step' });
    expect(lines[0]).toContain("name 'step' is registered with different shapes");
    log.left('w2');
    log.seen(worker('w3', [asWorkflow], 3000), 3000);
    expect(lines).toHaveLength(2);
  });

  it('a worker silent longer than a lost one conflicts with nobody', () => {
    const { lines, log } = logged();
    log.seen(worker('w1', [asTask], 0), 0);
    log.seen(worker('w2', [asWorkflow], 20_000), 20_000);
    expect(lines).toEqual([]);
  });
});
