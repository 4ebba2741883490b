/**
 * The durable replayer: every durable call of a task takes the next position, and a position
 * that is recorded returns its result, provided the code asks for the same call there.
 * No I/O: the worker and `replayHistory` feed it histories and act on its answers.
 */
import type { DurableCallKind } from '../actors/run/messages.js';
import { NonDeterminismError } from './errors.js';
import type { DurableCallRecord } from '../actors/run/state.js';

/** A durable call as the run records it. */
export type RecordedCall = DurableCallRecord;

type ReplayStep =
  { recorded: true; position: number; result: unknown } | { recorded: false; position: number };

const describe = (kind: string, callKey: string) => `${kind}(${callKey})`;

/** Thrown, offline, at the first call the history has not recorded. */
class EndOfHistory extends Error {
  constructor(position: number) {
    super(`the history ends before durable call ${position}`);
  }
}

export class Replayer {
  private next = 0;
  /** The first divergence found, even if the code caught it. */
  diverged?: NonDeterminismError;
  /** Offline: the code asked for a call past the end of the history. */
  reachedEnd = false;

  /**
   * `history` grows as the execution records new calls (`learn`), so that what it knows can
   * be kept when it is dropped from memory. `offline`: a call past the history throws
   * EndOfHistory instead of being made.
   */
  constructor(
    private readonly history: RecordedCall[],
    private readonly taskName: string,
    readonly offline = false,
  ) {}

  /** The calls known so far, in position order: what was replayed, then what was recorded. */
  get known(): readonly RecordedCall[] {
    return this.history;
  }

  /** A call at `position` was recorded (or a wait there resolved) with this result. */
  learn(position: number, call: RecordedCall) {
    // Only a prefix is worth keeping: a gap (a call whose result never came) ends it.
    if (position === this.history.length) this.history.push(call);
  }

  get recorded() {
    return this.history.length;
  }

  /** How many calls the code has made so far. */
  get position() {
    return this.next;
  }

  /** Whether every recorded call has been replayed. */
  get caughtUp() {
    return this.next >= this.history.length;
  }

  /** The one entry point of every durable call: its recorded result, or its position to record. */
  step(kind: DurableCallKind, callKey: string): ReplayStep {
    const position = this.next++;
    const recorded = this.history[position];
    if (!recorded && this.offline) {
      this.reachedEnd = true;
      throw new EndOfHistory(position);
    }
    if (!recorded) return { recorded: false, position };
    if (recorded.kind !== kind || recorded.callKey !== callKey) {
      throw (this.diverged ??= new NonDeterminismError(
        `durable task '${this.taskName}' took another path on replay: at position ${position} ` +
          `the history has ${describe(recorded.kind, recorded.callKey)}, but the code now calls ` +
          `${describe(kind, callKey)}. Code changed under a running task; let its runs finish ` +
          `on the old code, or replay them from the start with skein.runs.replay.`,
      ));
    }
    return { recorded: true, position, result: recorded.result };
  }
}
