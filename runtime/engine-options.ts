/** What `startEngine` accepts, and the checks that turn it into the engine's settings. */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { SchedulerConfig } from '../actors/scheduler/state.js';
import type { TurnHooks } from './actor-host.js';
import type { Clock } from './clock.js';
import { DEFAULT_RETENTION_MS, retentionMs, type Duration } from './duration.js';
// The user-facing ValidationError, so `startEngine` refuses options as the SDK does.
import { ValidationError } from './errors.js';
import { checkHttpOptions, type HttpOptions } from './http-options.js';
import { validateEngineId } from './leases.js';
import { checkNatsOptions, type NatsOptions } from './nats-options.js';
import { checkOptions, optionNames } from './options.js';
import { checkMaxPayloadBytes } from './payloads.js';
import { DEFAULT_NAMESPACE, validateNamespace } from './protocol.js';
import type { ExpiredRuns } from './retention-sweeper.js';

export interface EngineOptions {
  natsUrl?: string | string[];
  namespace?: string;
  /** Credentials and TLS for NATS; default: env SKEIN_NATS_*. */
  nats?: NatsOptions;
  logger?: Logger;
  /** Serve /healthz, /status and the dashboard (see http-options.ts). */
  http?: HttpOptions;
  /**
   * This engine's name in the namespace, kept across restarts so that a replacement takes its
   * dead predecessor's partitions at once (`skein engine` uses the host name). Two live engines
   * may not share one. Default: `engine-<random>`, new on each start.
   */
  id?: string;
  /** Stream and bucket replicas (3 on a cluster). */
  replicas?: number;
  /** Internal, for tests: time source, turn interruption hooks, scheduler timings. */
  clock?: Clock;
  hooks?: TurnHooks;
  scheduler?: Partial<SchedulerConfig>;
  leaseRenewMs?: number;
  /** Longest a durable timer waits before it is looked at again (tests moving `clock` set it low). */
  timerRecheckMs?: number;
  /**
   * Internal: the run index (runs.list, runs.page, runs.counts). `enabled: false` runs the
   * engine without it (the bench's comparison; those queries then get no answer);
   * `checkpointEveryMs` (default 30 s) for tests.
   */
  runIndex?: { enabled?: boolean; checkpointEveryMs?: number };
  /** How long pushed events are kept (default 7 days). */
  eventRetentionDays?: number;
  /**
   * How long a finished run is kept, unless its task or workflow sets `retention` (default:
   * env SKEIN_RETENTION, else 7 days). Its journal, logs and snapshot are then deleted.
   */
  retention?: Duration;
  /** Internal: where the retention sweeper finds expired runs (the run index), and how often it looks. */
  expiredRuns?: ExpiredRuns;
  sweepEveryMs?: number;
  /** Internal, for tests: journal entries between snapshots (runs, crons, concurrency groups). */
  snapshotEvery?: number;
  /**
   * A secret shared with the workers (default: env SKEIN_DISPATCH_KEY): dispatches and cancels
   * are signed with it, and workers holding it run only signed ones.
   */
  dispatchKey?: string;
  /**
   * The largest stored payload this engine reads or copies (default 64 MB, as the SDK's
   * `maxPayloadBytes`): an event payload over it triggers no run.
   */
  maxPayloadBytes?: number;
  /**
   * Collect metrics and serve them on `GET /metrics` of the HTTP port (default true, with
   * `http`; false: nothing is counted and `/metrics` answers 404). docs/API.md "Metrics".
   */
  metrics?: boolean;
}

const ENGINE_OPTIONS = optionNames<EngineOptions>({
  id: true,
  natsUrl: true,
  namespace: true,
  nats: true,
  logger: true,
  http: true,
  replicas: true,
  clock: true,
  hooks: true,
  scheduler: true,
  leaseRenewMs: true,
  timerRecheckMs: true,
  eventRetentionDays: true,
  dispatchKey: true,
  maxPayloadBytes: true,
  runIndex: true,
  retention: true,
  expiredRuns: true,
  sweepEveryMs: true,
  snapshotEvery: true,
  metrics: true,
});

/** Refuses what is wrong with a clear error; the settings that need working out, worked out. */
export function checkEngineOptions(opts: EngineOptions) {
  checkOptions(opts, ENGINE_OPTIONS, 'startEngine');
  const httpConfig = opts.http === undefined ? undefined : checkHttpOptions(opts.http);
  checkOptions(opts.runIndex, ['enabled', 'checkpointEveryMs'], 'startEngine: runIndex');
  checkNatsOptions(opts.nats, 'startEngine');
  const maxPayloadBytes = checkMaxPayloadBytes(opts.maxPayloadBytes, 'startEngine');
  if (opts.metrics !== undefined && typeof opts.metrics !== 'boolean')
    throw new ValidationError('startEngine: metrics must be true or false');
  const namespace = validateNamespace(
    opts.namespace ?? process.env.SKEIN_NAMESPACE ?? DEFAULT_NAMESPACE,
  );
  const id =
    opts.id === undefined ? `engine-${randomUUID().slice(0, 8)}` : validateEngineId(opts.id);
  const defaultRetentionMs = engineRetentionMs(opts.retention);
  return { httpConfig, maxPayloadBytes, namespace, id, defaultRetentionMs };
}

/** The engine's default retention: the option, else env SKEIN_RETENTION (a duration, or milliseconds), else 7 days. */
function engineRetentionMs(option: Duration | undefined): number {
  if (option !== undefined) return retentionMs(option, 'startEngine: retention');
  const env = process.env.SKEIN_RETENTION;
  if (env === undefined || env === '') return DEFAULT_RETENTION_MS;
  return retentionMs(/^\d+$/.test(env) ? Number(env) : env, 'SKEIN_RETENTION');
}
