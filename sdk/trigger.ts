/** Starting runs: validate, store the trigger durably, and hand back a RunRef. */
import { randomUUID } from 'node:crypto';
import type { RunSpec } from '../actors/run/spec.js';
import type { TraceContext } from '../runtime/protocol-trace.js';
import { encode } from '../runtime/codec.js';
import { createRun, type TriggerMessage } from '../runtime/run-creation.js';
import type { SdkConnection } from './connection.js';
import { ValidationError } from './errors.js';
import { checkId } from './ids.js';
import { toJson } from './json.js';
import { inputInlineLimit } from '../runtime/payloads.js';
import { makeRunRef, type RunRef } from './run-ref.js';
import type { RunWaiter } from './run-waiter.js';
import type { ChildLink } from './current-run.js';
import type { DesiredLabel, StickyStrategy } from './enums.js';
import { desiredLabelsOf, stickyOf } from './placement.js';
import { checkOptions } from '../runtime/options.js';
import { activeTraceContext } from './tracing.js';
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
  /** The input's encoding: an input over the inline limit is stored as an object when sent. */
  encoded: Uint8Array;
}

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

/** The active span's trace context, as a trigger carries it. */
function traced(): { trace?: TraceContext } {
  const trace = activeTraceContext();
  return trace ? { trace } : {};
}

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
    readonly waiter: RunWaiter,
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
    const encoded = encode(json);
    c.payloads.checkSize(encoded.length, 'input');
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
      ...traced(),
    };
    return { runId, keyed: opts.key !== undefined || link !== undefined, message, encoded };
  }

  async send<O>(prepared: PreparedTrigger): Promise<RunRef<O>> {
    const c = await this.conn.ready();
    // Watch before the trigger is stored, so the notice cannot be missed. A keyed trigger may
    // name a run triggered (and maybe ended) before: that one is watched as a stranger's.
    const watching = await this.waiter.watch(prepared.runId, !prepared.keyed);
    const { runId, message, encoded } = prepared;
    const { payloads } = c;
    const limit = inputInlineLimit(payloads.inlineBytes, message.spec);
    const input = await payloads.offload(message.input, { runId }, 'input', encoded, limit);
    await createRun(c.requester, this.conn.names, { ...message, input }, Date.now());
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
    cancel: () => Promise<void> = () => this.cancel(runId, 'cancelled by user', 'sdk'),
  ): RunRef<O> {
    return makeRunRef<O>(
      runId,
      async () => {
        const finished = await (watching ?? (await this.waiter.watch(runId, false)))();
        // A large output comes as a reference to the object it is stored in.
        return (await this.conn.ready()).payloads.resolve(finished);
      },
      cancel,
    );
  }

  /** `by`: who asked, recorded in the run's history. */
  async cancel(runId: string, reason: string, by: string) {
    const c = await this.conn.ready();
    const message = { type: 'Cancel', id: cancelId(runId), reason, by };
    await c.deliverer.deliver('run', runId, message, 200 + by.length);
  }

  async replay(runId: string, by: string, fromTask?: string) {
    const c = await this.conn.ready();
    const message = { type: 'Replay', id: replayId(runId), by, ...(fromTask && { fromTask }) };
    await c.deliverer.deliver('run', runId, message, 200 + by.length + (fromTask?.length ?? 0));
  }
}
