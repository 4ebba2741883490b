/** Starting runs: validate, store the trigger durably, and hand back a RunRef. */
import { randomUUID } from 'node:crypto';
import type { RunSpec } from '../actors/run/spec.js';
import { encode } from '../runtime/codec.js';
import { createRun, type TriggerMessage } from '../runtime/run-creation.js';
import type { SdkConnection } from './connection.js';
import { ValidationError } from './errors.js';
import { checkId } from './ids.js';
import { assertSize, toJson } from './json.js';
import { makeRunRef, type RunRef } from './run-ref.js';
import type { RunWaiter } from './run-waiter.js';
import type { ChildLink } from './current-run.js';
import type { DesiredLabel, StickyStrategy } from './enums.js';
import { desiredLabelsOf, stickyOf } from './placement.js';
import { checkOptions } from '../runtime/options.js';
import { cancelId, childStartedId, keyedRunId, replayId, triggerId } from '../runtime/ids.js';

export interface RunOpts {
  additionalMetadata?: Record<string, string>;
  /** 1..3 (Priority.LOW..HIGH); defaults to the declaration's defaultPriority. */
  priority?: number;
  /** Idempotency key: a second trigger with the same key returns the first run's ref. */
  key?: string;
  /** Merged over the task's desiredWorkerLabels for this run. */
  desiredWorkerLabels?: Record<string, DesiredLabel>;
  /** Overrides the declaration's sticky strategy for this run. */
  sticky?: StickyStrategy;
}

export const RUN_OPTIONS = {
  additionalMetadata: true,
  priority: true,
  key: true,
  desiredWorkerLabels: true,
  sticky: true,
} as const satisfies Record<keyof RunOpts, true>;

export interface BulkRunItem<I> {
  input: I;
  options?: RunOpts;
}

interface PreparedTrigger {
  runId: string;
  keyed: boolean;
  message: TriggerMessage;
}

/** Room for the rest of a journal entry around the payloads. */
const ENTRY_OVERHEAD_BYTES = 4096;

/** The largest input a run can take on a server with this max_payload. */
export const maxInputBytes = (maxPayload: number) =>
  Math.floor((maxPayload - ENTRY_OVERHEAD_BYTES) / 2);

/** A result's journal entry stores the output three times (task, run, and the end notice). */
export const maxOutputBytes = (maxPayload: number) =>
  Math.floor((maxPayload - ENTRY_OVERHEAD_BYTES) / 3);

export interface TriggerDefaults {
  defaultPriority: number;
  defaultAdditionalMetadata: Record<string, string>;
}

/** The run of the current task, if any (set by the worker around task code). */
type ParentLookup = () =>
  { runId: string; additionalMetadata?: Record<string, string> } | undefined;

/** What a child run inherits of its parent's metadata: all but Skein's own `skein__` keys. */
const inheritedMetadata = (meta: Record<string, string> = {}) =>
  Object.fromEntries(Object.entries(meta).filter(([k]) => !k.startsWith('skein__')));

export function checkMetadata(meta: unknown): Record<string, string> {
  if (meta === undefined) return {};
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    throw new ValidationError('additionalMetadata must be an object of string values');
  }
  for (const [k, v] of Object.entries(meta)) {
    if (typeof v !== 'string')
      throw new ValidationError(`additionalMetadata.${k} must be a string, got ${typeof v}`);
  }
  return meta as Record<string, string>;
}

export function checkPriority(priority: unknown, option: string): number {
  if (priority === 1 || priority === 2 || priority === 3) return priority;
  throw new ValidationError(
    `${option} must be 1, 2 or 3 (Priority.LOW, MEDIUM, HIGH), got ${JSON.stringify(priority)}`,
  );
}

export class Triggerer {
  constructor(
    readonly conn: SdkConnection,
    private readonly waiter: RunWaiter,
    private readonly parent: ParentLookup,
  ) {}

  /** Checks a trigger and builds its message; throws ValidationError, storing nothing. */
  async prepare(
    spec: RunSpec,
    defaults: TriggerDefaults,
    input: unknown,
    opts: RunOpts = {},
    unparsedInput = false,
    link?: ChildLink,
  ): Promise<PreparedTrigger> {
    checkOptions(opts, Object.keys(RUN_OPTIONS), `run options of '${spec.name}'`);
    const c = await this.conn.ready();
    const parent = this.parent();
    const additionalMetadata = {
      ...inheritedMetadata(parent?.additionalMetadata),
      ...defaults.defaultAdditionalMetadata,
      ...checkMetadata(opts.additionalMetadata),
    };
    const priority = checkPriority(opts.priority ?? defaults.defaultPriority, 'priority');
    if (opts.key !== undefined) checkId('key', opts.key);
    const json = toJson(input, 'input');
    // The run's first journal entry stores the input twice (the trigger and the queued task).
    assertSize(
      encode(json).length,
      maxInputBytes(c.maxPayload),
      'input',
      'inputs are stored twice in one message, so at most half of it',
    );
    const desiredWorkerLabels = desiredLabelsOf(opts.desiredWorkerLabels, 'run options');
    const sticky = stickyOf(opts.sticky, 'run options');
    const runId = link?.runId ?? (opts.key ? keyedRunId(spec.name, opts.key) : randomUUID());
    const message: TriggerMessage = {
      type: 'Trigger',
      id: triggerId(runId),
      runId,
      spec,
      input: json,
      additionalMetadata,
      priority,
      parentRunId: parent?.runId,
      key: opts.key,
      notify: this.waiter.notifySubject,
      unparsedInput: unparsedInput || undefined,
      parentCall: link?.parentCall,
      ...(desiredWorkerLabels && { desiredWorkerLabels }),
      ...(sticky && { sticky }),
    };
    return { runId, keyed: opts.key !== undefined || link !== undefined, message };
  }

  async send<O>(prepared: PreparedTrigger): Promise<RunRef<O>> {
    const c = await this.conn.ready();
    // Watch before the trigger is stored, so the notice cannot be missed. A keyed trigger may
    // name a run triggered (and maybe ended) before: that one is watched as a stranger's.
    const watching = await this.waiter.watch(prepared.runId, !prepared.keyed);
    await createRun(c.requester, this.conn.names, prepared.message, Date.now());
    const parentRunId = prepared.message.parentRunId;
    if (parentRunId) {
      const childRunId = prepared.runId;
      await c.deliverer.deliver(
        'run',
        parentRunId,
        { type: 'ChildStarted', id: childStartedId(childRunId), childRunId },
        200,
      );
    }
    return this.ref<O>(prepared.runId, watching);
  }

  ref<O>(
    runId: string,
    watching?: () => Promise<import('../actors/effects.js').RunFinished>,
    cancel: () => Promise<void> = () => this.cancel(runId, 'cancelled by user'),
  ): RunRef<O> {
    return makeRunRef<O>(
      runId,
      async () => (watching ?? (await this.waiter.watch(runId, false)))(),
      cancel,
    );
  }

  async cancel(runId: string, reason: string) {
    const c = await this.conn.ready();
    await c.deliverer.deliver('run', runId, { type: 'Cancel', id: cancelId(runId), reason }, 200);
  }

  async replay(runId: string) {
    const c = await this.conn.ready();
    await c.deliverer.deliver('run', runId, { type: 'Replay', id: replayId(runId) }, 200);
  }
}
