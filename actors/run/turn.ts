/**
 * One turn of the run actor: what one message leads to. Every message handler in decide.ts
 * opens one Turn, and the helpers it calls add to it.
 *
 * Invariants of a Turn:
 * - `state` is always the state the turn began with, with `events` folded in by `evolveRun`:
 *   each step of the turn sees what the steps before it recorded. Events go in through
 *   `record` only.
 * - `effects` are in the order they are to be carried out.
 * - A turn ends once, with `done()`, and a turn's end gives back the concurrency slots of
 *   whatever ended in it (the run, or some of its task runs): no handler has to remember to,
 *   so no slot is kept by a run or task run that ended. A run's last event (RunCompleted,
 *   RunFailed, RunCancelled) gives them back before it is recorded (see progress.ts `end`),
 *   so that it stays the last.
 */
import type { Decision } from '../actor.js';
import type { Effect } from '../effects.js';
import type { RunEvent } from './events.js';
import { evolveRun, isTerminal, type Admission, type RunState } from './state.js';
import { releaseId } from '../ids.js';

export class Turn {
  readonly events: RunEvent[] = [];
  readonly effects: Effect[] = [];
  private ended = false;
  constructor(
    public state: RunState,
    readonly now: number,
  ) {}
  record(event: RunEvent) {
    this.events.push(event);
    this.state = evolveRun(this.state, event);
  }
  /** Ends the turn: gives back the slots of what ended in it, and returns the decision. */
  done(): Decision<RunEvent, RunState> {
    if (this.ended) throw new Error('a turn ends once');
    this.ended = true;
    releaseEnded(this, this.now);
    return { events: this.events, effects: this.effects, state: this.state };
  }
}

/**
 * Gives back the slots of whatever ended in this turn: the run, or some of its task runs.
 * `runEnding`: the run's last event comes next, so everything gives its slots back now.
 */
export function releaseEnded(turn: Turn, now: number, runEnding = false) {
  const s = turn.state;
  const runEnded = runEnding || isTerminal(s.status);
  for (const task of Object.values(s.tasks)) {
    if (task.admission && !task.admission.released && (isTerminal(task.status) || runEnded))
      release(turn, task.admission, task.name, now);
  }
  if (s.admission && !s.admission.released && runEnded) release(turn, s.admission, undefined, now);
}

function release(turn: Turn, admission: Admission, taskName: string | undefined, now: number) {
  turn.record({ type: 'AdmissionReleased', taskName, at: now });
  // Groups that granted a slot, and the one it may be waiting in.
  const asked = admission.groups.slice(0, Math.min(admission.granted + 1, admission.groups.length));
  for (const group of asked) {
    turn.effects.push({
      type: 'send',
      to: { type: 'concurrency', id: group.groupId },
      message: {
        type: 'Release',
        id: releaseId(group.groupId, admission.holder),
        holder: admission.holder,
      },
    });
  }
}
