/** What the cron actor receives. */
import type { RunSpec } from '../run/spec.js';
import type { RunPlacementOptions } from '../run/placement.js';

/** A cron as its creator defined it. */
export interface CronDefinition extends RunPlacementOptions {
  /** The cron's name, unique per target (a declared `onCrons` entry is named by its expression). */
  name: string;
  /** The task or workflow each tick runs (its spec when the cron was defined). */
  spec: RunSpec;
  expression: string;
  timezone: string;
  input: unknown;
  additionalMetadata: Record<string, string>;
  priority?: number;
  /** Declared with `onCrons` (registered by workers) rather than made by `createCron`. */
  declarative: boolean;
  unparsedInput?: boolean;
}

export type CronMessage =
  /** Create the cron, or change it; the same definition again changes nothing. */
  | { type: 'DefineCron'; id: string; cron: CronDefinition }
  /** The timer for the tick at `dueAt` went off. */
  | { type: 'CronDue'; id: string; dueAt: number }
  | { type: 'DeleteCron'; id: string };
