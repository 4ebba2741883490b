/**
 * Names that running workers register with different shapes (see `shapeOf`). A name is unique
 * in its namespace, yet nothing stops two workers from declaring it differently: two
 * declarations that collide, or two versions of one during a deploy. Triggers by name, events
 * and crons then take whichever registration was stored last. The engine cannot tell which is
 * meant, so it says so: `workers.list()` shows each worker's conflicts, and the leader logs each
 * one as an error when it appears.
 */
import type { Logger } from 'pino';
import type { WorkerRecord } from './protocol.js';

type Live = Pick<WorkerRecord, 'workerId' | 'serves'>;

/** For each worker with a conflict, one line per name: what the name is here and elsewhere. */
export function nameConflicts(workers: readonly Live[]): Map<string, string[]> {
  const byName = new Map<string, Map<string, string[]>>();
  for (const w of workers) {
    for (const { name, shape } of w.serves) {
      const shapes = byName.get(name) ?? new Map<string, string[]>();
      byName.set(name, shapes);
      shapes.set(shape, [...(shapes.get(shape) ?? []), w.workerId]);
    }
  }
  const out = new Map<string, string[]>();
  for (const w of workers) {
    const lines: string[] = [];
    for (const { name, shape } of w.serves) {
      const others = [...byName.get(name)!].filter(([s]) => s !== shape);
      if (others.length === 0) continue;
      const elsewhere = others.map(([s, ids]) => `${s} on ${ids.join(', ')}`).join('; ');
      lines.push(`'${name}' is a ${shape} here, but a ${elsewhere}`);
    }
    out.set(w.workerId, lines);
  }
  return out;
}

/** Logs each conflict between two running workers once, as the leader sees their heartbeats. */
export class ConflictLog {
  private readonly workers = new Map<string, WorkerRecord>();
  private readonly logged = new Set<string>();

  constructor(
    private readonly logger: Logger,
    /** A worker silent this long is not running any more. */
    private readonly liveForMs: number,
  ) {}

  seen(record: WorkerRecord, now: number) {
    this.workers.set(record.workerId, record);
    for (const [id, w] of this.workers) if (now - w.sentAt > this.liveForMs) this.left(id);
    for (const { name, shape } of record.serves) {
      for (const other of this.workers.values()) {
        const theirs = other.serves.find((s) => s.name === name);
        if (!theirs || theirs.shape === shape) continue;
        const pair = JSON.stringify([name, ...[record.workerId, other.workerId].sort()]);
        if (this.logged.has(pair)) continue;
        this.logged.add(pair);
        this.logger.error(
          { name, workers: { [record.workerId]: shape, [other.workerId]: theirs.shape } },
          `name '${name}' is registered with different shapes by two running workers: a ` +
            `${shape} on ${record.workerId}, a ${theirs.shape} on ${other.workerId}. Names are ` +
            `unique per namespace: triggers by name, events and crons use whichever registered ` +
            `last. Rename one (or finish the deploy that changed it)`,
        );
      }
    }
  }

  left(workerId: string) {
    this.workers.delete(workerId);
    for (const pair of this.logged)
      if ((JSON.parse(pair) as string[]).includes(workerId)) this.logged.delete(pair);
  }
}
