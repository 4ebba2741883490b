/** What an actor asks the runtime to do after its events are stored. */
import type { QueuedTask } from './scheduler/queued-task.js';
import type { RunPlacementOptions } from './run/placement.js';
import type { RunSpec } from './run/spec.js';
import type { TraceContext } from './trace-context.js';

export interface ActorRef {
  type: string;
  id: string;
}

export interface RunFinished {
  runId: string;
  status: 'COMPLETED' | 'FAILED' | 'CANCELLED';
  output?: unknown;
  errors?: Record<string, string>;
  reason?: string;
}

export type Effect =
  /** Deliver a message to another actor's mailbox (persisted). */
  | { type: 'send'; to: ActorRef; message: { id: string; type: string } & Record<string, unknown> }
  /** Put a task run in the scheduler's queue (the scheduler reads it from the journal entry). */
  | { type: 'enqueue'; task: QueuedTask }
  /** Deliver `message` to `to` at `dueAt` (persisted timer). */
  | {
      type: 'startTimer';
      timerId: string;
      dueAt: number;
      to: ActorRef;
      message: { id: string; type: string } & Record<string, unknown>;
    }
  /** Tell whoever waits for this run how it ended (best effort; a state read replaces it). */
  | { type: 'runFinished'; result: RunFinished; notify?: string }
  /** Drop a queued task run, or abort it on the worker that runs it (read from the journal entry too). */
  | {
      type: 'abortTask';
      key: string;
      reason: string;
      /** A suspended durable task is in no queue: the worker that may hold it in memory is told. */
      heldBy?: { workerId: string; runId: string; taskName: string };
    }
  /** Tell the run about events with this key (the leader reads it from the journal entry). */
  | { type: 'awaitEvent'; wait: EventWait }
  /** Stop telling the run about those events. */
  | { type: 'endWait'; key: string }
  /** Read the events stored up to `check.horizon` for a wait, and tell the run (EventsChecked). */
  | { type: 'checkEvents'; check: EventCheck }
  /** Create a run (a cron tick, a schedule that came due); its id makes a repeat harmless. */
  | { type: 'startRun'; run: RunStart };

/** A run to create; the target's current registration, if any, supplies spec and defaults. */
export interface RunStart {
  runId: string;
  spec: RunSpec;
  input: unknown;
  additionalMetadata: Record<string, string>;
  /** Unset: the target's defaultPriority. */
  priority?: number;
  /** The input was not checked by the target's inputValidator: the worker checks it. */
  unparsedInput?: boolean;
  at: number;
  /** The run's own worker labels and sticky strategy. */
  desiredWorkerLabels?: RunPlacementOptions['desiredWorkerLabels'];
  sticky?: RunPlacementOptions['sticky'];
  /** The span the event that starts it was pushed in. */
  traceLink?: TraceContext;
}

/** A waiting task's interest in events with one key. */
export interface EventWait {
  /** Unique per run, task, replay generation and condition. */
  key: string;
  runId: string;
  taskName: string;
  conditionId: string;
  generation: number;
  eventKey: string;
  /** Events pushed at or after this time count. */
  sinceMs: number;
  /** Only events pushed with this scope count (none: any scope). */
  scope?: string;
}

/**
 * A wait's deadline came (or an event stamped after it): before the run judges it, the
 * runtime reads the events stored since the wait began, up to the events stream's last
 * sequence once the clock reached `horizon`, and answers with the first match per condition.
 */
export interface EventCheck {
  /** The id of the answer (an EventsChecked message to the run). */
  id: string;
  runId: string;
  taskName: string;
  generation: number;
  /** The durable call waiting (none: a workflow task's conditions). */
  position?: number;
  horizon: number;
  conditions: {
    conditionId: string;
    eventKey: string;
    sinceMs: number;
    expression?: string;
    scope?: string;
  }[];
}

/** An event a check found for one condition: the first stored since the wait began that matches. */
export interface FoundEvent {
  conditionId: string;
  eventId: string;
  /** Its JetStream timestamp (ms). */
  at: number;
  payload: unknown;
}
