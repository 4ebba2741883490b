/** What the run actor records: the story of a run, as `skein.runs.history(id)` shows it. */
import type { RunFinished } from '../effects.js';
import type { DurableCallKind, RunCreation, TaskError } from './messages.js';
import type { ConditionExpr, ConcurrencyStrategy } from './spec.js';

/** One concurrency group a run or task run needs a slot of: `<scope>|<index>|<key>`. */
export interface GroupRef {
  groupId: string;
  key: string;
  maxRuns: number;
  strategy: ConcurrencyStrategy;
}

export type RunEvent =
  | ({ type: 'RunTriggered'; at: number } & RunCreation)
  | {
      type: 'TaskQueued';
      taskName: string;
      key: string;
      attempt: number;
      at: number;
      /** A durable task queued again after a wait resolved (1, 2, …). */
      resume?: number;
    }
  | {
      type: 'TaskStarted';
      taskName: string;
      key: string;
      attempt: number;
      workerId: string;
      at: number;
    }
  | { type: 'TaskSucceeded'; taskName: string; key: string; output: unknown; at: number }
  | {
      type: 'TaskFailed';
      taskName: string;
      key: string;
      error: TaskError;
      final: boolean;
      at: number;
    }
  | { type: 'RetryScheduled'; taskName: string; key: string; attempt: number; dueAt: number }
  | {
      type: 'TaskRequeued';
      taskName: string;
      key: string;
      workerId: string;
      reason: string;
      at: number;
    }
  | { type: 'TimeoutRefreshed'; taskName: string; key: string; byMs: number; at: number }
  | { type: 'TaskCancelled'; taskName: string; reason: string; at: number }
  | { type: 'RunCompleted'; output: unknown; at: number }
  /** `errors`: each failed task's `'<Class>: <message>'`; `errorClass`: the class of the first. */
  | { type: 'RunFailed'; errors: Record<string, string>; errorClass?: string; at: number }
  /** `by`: who cancelled it through the SDK (`'sdk'`, `'dashboard'`, `'cli'`…); absent for the engine's own cancels. */
  | { type: 'RunCancelled'; reason: string; by?: string; at: number }
  /**
   * `by`: who replayed it; `fromTask`: only that task, the tasks downstream of it and the tasks
   * that had not succeeded run again, the others keep their outputs. Events stored before
   * 0.2 have neither.
   */
  | { type: 'RunReplayed'; by?: string; fromTask?: string; at: number }
  | { type: 'ChildLinked'; childRunId: string; at: number }
  | { type: 'TaskWaiting'; taskName: string; at: number }
  /** `data`: what a durable waitFor returns for it (an event's payload, a sleep's duration). */
  | { type: 'ConditionMet'; taskName: string; conditionId: string; data?: unknown; at: number }
  | { type: 'TaskSkipped'; taskName: string; reason: string; at: number }
  /** A durable call's result: on replay, the call at `position` returns it. */
  | {
      type: 'DurableCallRecorded';
      taskName: string;
      position: number;
      kind: DurableCallKind;
      callKey: string;
      result: unknown;
      at: number;
    }
  /** A durable task waits at `position`: for its conditions, or for a child run. */
  | {
      type: 'DurableWaitStarted';
      taskName: string;
      position: number;
      kind: DurableCallKind;
      callKey: string;
      conditions?: ConditionExpr;
      childRunId?: string;
      at: number;
    }
  /** The waiting durable task gave its worker slot back (attempt `key` stays live). */
  | { type: 'TaskSuspended'; taskName: string; key: string; workerId: string; at: number }
  /** The run (no taskName) or a task run asks its concurrency groups for a slot, one after another. */
  | {
      type: 'AdmissionRequested';
      taskName?: string;
      holder: string;
      groups: GroupRef[];
      at: number;
    }
  | { type: 'AdmissionGranted'; taskName?: string; groupId: string; at: number }
  /** It ended: its slots (or places in line) are given back. */
  | { type: 'AdmissionReleased'; taskName?: string; at: number }
  /** A child run started by a durable call ended, maybe before its parent waited for it. */
  | { type: 'ChildFinished'; childRunId: string; result: RunFinished; at: number };
