/** What a concurrency group records. */
import type { ConcurrencyStrategy } from './messages.js';

export interface Holder {
  holder: string;
  runId: string;
  since: number;
}

export type ConcurrencyEvent =
  | { type: 'LimitSet'; maxRuns: number; strategy: ConcurrencyStrategy }
  | ({ type: 'SlotGranted' } & Holder)
  | ({ type: 'SlotQueued' } & Holder)
  /** A newer holder wins (CANCEL_IN_PROGRESS): this one's run is told to cancel. */
  | { type: 'HolderCancelled'; holder: string; runId: string; at: number }
  /** No slot and, by CANCEL_NEWEST, no waiting: the newcomer's run is told to cancel. */
  | { type: 'SlotRefused'; holder: string; runId: string; at: number }
  | { type: 'SlotReleased'; holder: string };
