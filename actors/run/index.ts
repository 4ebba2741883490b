import type { ActorDefinition } from '../actor.js';
import { decideRun } from './decide.js';
import type { RunEvent } from './events.js';
import type { RunMessage } from './messages.js';
import { evolveRun, initialRunState, isTerminal, type RunState } from './state.js';

/** The `s` of each run journal entry: how the run stands after the turn (not the public `RunSummary`). */
export interface RunEntrySummary {
  name: string;
  status: RunState['status'];
  createdAt: number;
  finishedAt?: number;
  additionalMetadata: Record<string, string>;
}

export const runActor: ActorDefinition<RunState, RunMessage, RunEvent> = {
  type: 'run',
  initial: initialRunState,
  decide: decideRun,
  evolve: evolveRun,
  summarize: (s): RunEntrySummary => ({
    name: s.spec.name,
    status: s.status,
    createdAt: s.createdAt,
    finishedAt: s.finishedAt,
    additionalMetadata: s.additionalMetadata,
  }),
  isDone: (s) => s.exists && isTerminal(s.status),
};

export type { RunEvent, RunMessage, RunState };
export { isTerminal };
export type { RunSpec, TaskSpec } from './spec.js';
export type { TaskError } from './messages.js';
