/** What the schedule actor receives. */
import type { RunSpec } from '../run/spec.js';
import type { RunPlacementOptions } from '../run/placement.js';

/** A run to start once, at `triggerAt`. */
export interface ScheduleDefinition extends RunPlacementOptions {
  spec: RunSpec;
  triggerAt: number;
  input: unknown;
  additionalMetadata: Record<string, string>;
  priority?: number;
  unparsedInput?: boolean;
}

export type ScheduleMessage =
  | { type: 'CreateSchedule'; id: string; schedule: ScheduleDefinition }
  /** The schedule's timer went off. */
  | { type: 'ScheduleDue'; id: string }
  | { type: 'DeleteSchedule'; id: string };
