/** The run a piece of task code belongs to, so runs it triggers become its children. */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { RunRef } from './run-ref.js';

/** How a child run is tied to the durable call that starts it. */
export interface ChildLink {
  runId: string;
  parentCall?: { taskName: string; position: number };
}

/** Starting child runs as durable calls, inside a durable task. */
export interface DurableChildren {
  child<O>(
    name: string,
    start: (link: ChildLink) => Promise<RunRef<O>>,
    wait: boolean,
  ): Promise<O | RunRef<O>>;
  /** A run started later (a schedule), made once; `idKey` is the same on every replay. */
  startLater<T>(name: string, make: (idKey: string) => Promise<T>): Promise<T>;
  /** `runMany`: every run started once, and each one's end awaited durably. */
  runMany<O>(
    name: string,
    starts: ((link: ChildLink) => Promise<RunRef<O>>)[],
    returnExceptions: boolean,
  ): Promise<(O | Error)[]>;
}

interface CurrentRun {
  runId: string;
  /** The run's metadata: runs it starts inherit it. */
  additionalMetadata?: Record<string, string>;
  durable?: DurableChildren;
}

export const currentRun = new AsyncLocalStorage<CurrentRun>();
