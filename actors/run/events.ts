/** What the run actor records: the story of a run, as `skein.runs.history(id)` shows it. */
import type { RunCreation, TaskError } from './messages.js';

export type RunEvent =
  | ({ type: 'RunTriggered'; at: number } & RunCreation)
  | { type: 'TaskQueued'; taskName: string; key: string; attempt: number; at: number }
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
  | { type: 'RunFailed'; errors: Record<string, string>; at: number }
  | { type: 'RunCancelled'; reason: string; at: number }
  | { type: 'RunReplayed'; at: number }
  | { type: 'ChildLinked'; childRunId: string; at: number }
  | { type: 'TaskWaiting'; taskName: string; at: number }
  | { type: 'ConditionMet'; taskName: string; conditionId: string; at: number }
  | { type: 'TaskSkipped'; taskName: string; reason: string; at: number };

export type RunEventType = RunEvent['type'];
