/**
 * A durable task's recorded calls, gathered from the run's events: the run's state keeps only
 * their count, the journal keeps the calls. Fed events in journal order, from the run's first
 * (or from a later point known to be in `generation`), it keeps the calls of one task in one
 * generation from position `from` on.
 */
import type { RunEvent } from './events.js';
import type { DurableCallRecord } from './state.js';

export class RecordedCalls {
  readonly calls: DurableCallRecord[] = [];
  private current: number;

  constructor(
    private readonly taskName: string,
    private readonly generation: number,
    private readonly from = 0,
    /** The generation the first event fed is in. */
    startGeneration = 0,
  ) {
    this.current = startGeneration;
  }

  /** Past the wanted generation: later events hold nothing for it. */
  get passed() {
    return this.current > this.generation;
  }

  /** Takes one event; true when it added a call. */
  add(event: RunEvent): boolean {
    if (event.type === 'RunReplayed') this.current++;
    if (
      event.type !== 'DurableCallRecorded' ||
      event.taskName !== this.taskName ||
      this.current !== this.generation ||
      event.position < this.from
    )
      return false;
    const { kind, callKey, result } = event;
    this.calls[event.position - this.from] = { kind, callKey, result };
    return true;
  }
}

/** The calls a history records for `taskName` in its last generation (offline replay). */
export function lastGenerationCalls(
  events: readonly RunEvent[],
  taskName: string,
): DurableCallRecord[] {
  const generation = events.filter((e) => e.type === 'RunReplayed').length;
  const recorded = new RecordedCalls(taskName, generation);
  for (const event of events) recorded.add(event);
  return recorded.calls;
}
