import type { ConcurrencyStrategy } from '../actors/concurrency/messages.js';
import type { LabelComparator } from '../actors/scheduler/queued-task.js';

export const Priority = { LOW: 1, MEDIUM: 2, HIGH: 3 } as const;
export type Priority = (typeof Priority)[keyof typeof Priority];

export const StickyStrategy = { SOFT: 'soft', HARD: 'hard' } as const;
export type StickyStrategy = (typeof StickyStrategy)[keyof typeof StickyStrategy];

export const ConcurrencyLimitStrategy = {
  GROUP_ROUND_ROBIN: 'GROUP_ROUND_ROBIN',
  CANCEL_IN_PROGRESS: 'CANCEL_IN_PROGRESS',
  CANCEL_NEWEST: 'CANCEL_NEWEST',
} as const satisfies { [S in ConcurrencyStrategy]: S };
export type ConcurrencyLimitStrategy =
  (typeof ConcurrencyLimitStrategy)[keyof typeof ConcurrencyLimitStrategy];

export const WorkerLabelComparator = {
  EQUAL: 'EQUAL',
  NOT_EQUAL: 'NOT_EQUAL',
  GREATER_THAN: 'GREATER_THAN',
  GREATER_THAN_OR_EQUAL: 'GREATER_THAN_OR_EQUAL',
  LESS_THAN: 'LESS_THAN',
  LESS_THAN_OR_EQUAL: 'LESS_THAN_OR_EQUAL',
} as const satisfies { [C in LabelComparator]: C };
export type WorkerLabelComparator =
  (typeof WorkerLabelComparator)[keyof typeof WorkerLabelComparator];

export type RunStatus = 'QUEUED' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED';

export interface ConcurrencyExpression {
  expression: string;
  maxRuns: number;
  limitStrategy?: ConcurrencyLimitStrategy;
}

export interface DesiredLabel {
  value: string | number;
  required?: boolean;
  weight?: number;
  comparator?: WorkerLabelComparator;
}

export type RateLimitDuration = 'second' | 'minute' | 'hour' | 'day';

export type RateLimitRef =
  | { staticKey: string; units?: number }
  | {
      dynamicKey: string;
      units?: number;
      limit?: number;
      duration?: RateLimitDuration;
    };
