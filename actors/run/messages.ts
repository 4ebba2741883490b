/** What the run actor receives. Every message has an `id`, unique per sender intent. */
import type { FoundEvent, RunFinished } from '../effects.js';
import type { ConditionExpr, RunSpec } from './spec.js';
import type { LabelWish } from '../scheduler/queued-task.js';
import type { StickyStrategy } from './placement.js';
import type { TraceContext } from '../trace-context.js';

/** Why an attempt failed: `name` is the error's class (`TypeError`, `TimeoutError`, …). */
export interface TaskError {
  name: string;
  message: string;
  nonRetryable?: boolean;
  /** The run's input failed the inputValidator: no task of the run can run on it. */
  invalidInput?: boolean;
  /** Where the task's code threw it, kept with the failure in the run's history. */
  stack?: string;
}

/** How a failure reads wherever it is shown: `'<Class>: <message>'`. */
export const errorText = (error: TaskError): string =>
  error.message ? `${error.name}: ${error.message}` : error.name;

/** What a run starts from: carried by the Trigger message, recorded by RunTriggered. */
export interface RunCreation {
  runId: string;
  spec: RunSpec;
  input: unknown;
  additionalMetadata: Record<string, string>;
  priority: number;
  parentRunId?: string;
  key?: string;
  /** A subject the triggering client listens on for the run's end. */
  notify?: string;
  /** The input was not parsed by the task's inputValidator yet (a trigger by name): the worker parses it. */
  unparsedInput?: boolean;
  /** Started by a durable task's `child.run()`: the parent run hears how this run ended. */
  parentCall?: { taskName: string; position: number };
  /** Worker labels this run's tasks want, over their declared ones. */
  desiredWorkerLabels?: Record<string, LabelWish>;
  /** Overrides the declaration's sticky strategy for this run. */
  sticky?: StickyStrategy;
  /** The span the run was triggered in: its task attempts' spans are its children. */
  trace?: TraceContext;
  /** The span the event that started this run was pushed in: its task attempts' spans link to it. */
  traceLink?: TraceContext;
}

/** What a durable call does, recorded with each call so replay can tell when code changed. */
export type DurableCallKind =
  'sleep' | 'waitForEvent' | 'waitFor' | 'memo' | 'now' | 'uuid' | 'child' | 'spawn';

/** A durable call of the task run attempt `key`, at `position` (0-based) in the task's history. */
interface DurableCallBase {
  id: string;
  key: string;
  taskName: string;
  workerId: string;
  position: number;
  kind: DurableCallKind;
  /** What the call was about (a memo's function, an event key, a child's name): checked on replay. */
  callKey: string;
}

export type RunMessage =
  | ({ type: 'Trigger'; id: string } & RunCreation)
  | {
      type: 'TaskResult';
      id: string;
      key: string;
      taskName: string;
      workerId: string;
      startedAt: number;
      finishedAt: number;
      output?: unknown;
      error?: TaskError;
    }
  /** `by`: who asked, recorded with the cancel. */
  | { type: 'Cancel'; id: string; reason: string; by?: string }
  | { type: 'RetryDue'; id: string; key: string; taskName: string }
  | { type: 'ScheduleTimedOut'; id: string; key: string; taskName: string }
  | {
      type: 'WorkerLost';
      id: string;
      key: string;
      taskName: string;
      workerId: string;
      /** `unacknowledged`: the worker is alive but never listed the dispatch (reconcile). */
      cause?: 'lost' | 'unacknowledged';
    }
  | { type: 'TimeoutRefreshed'; id: string; key: string; taskName: string; byMs: number }
  /** Runs an ended run again; from `fromTask`, keeping the outputs of the tasks not downstream of it. */
  | { type: 'Replay'; id: string; by?: string; fromTask?: string }
  /** An event a waiting task's condition asked for was pushed. */
  | {
      type: 'EventReceived';
      id: string;
      taskName: string;
      conditionId: string;
      generation: number;
      eventId: string;
      payload: unknown;
      /** The event's JetStream timestamp (ms); absent in messages from older engines. */
      at?: number;
    }
  /** What a check of a wait's deadline found (see EventCheck): judge the deadline now. */
  | {
      type: 'EventsChecked';
      id: string;
      taskName: string;
      generation: number;
      position?: number;
      horizon: number;
      found: FoundEvent[];
    }
  /** A sleep condition of a waiting task elapsed (from its timer). */
  | { type: 'SleepElapsed'; id: string; taskName: string; conditionId: string; generation: number }
  /** A run started by one of this run's tasks: cancelling this run cancels it too. */
  | { type: 'ChildStarted'; id: string; childRunId: string }
  /** A durable call that completed on the worker (memo, now, uuid, spawn): record its result. */
  | ({ type: 'DurableCall'; result: unknown } & DurableCallBase)
  /** A durable call that waits (sleep, events, a child run): the task suspends until it resolves. */
  | ({
      type: 'DurableWait';
      conditions?: ConditionExpr;
      childRunId?: string;
    } & DurableCallBase)
  /** A concurrency group gave `holder` (this run, or one of its task runs) a slot. */
  | { type: 'ConcurrencyGranted'; id: string; groupId: string; holder: string }
  /** A child run started by a durable call ended. */
  | {
      type: 'ChildFinished';
      id: string;
      taskName: string;
      position: number;
      result: RunFinished;
    };
