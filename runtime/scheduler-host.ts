/**
 * Hosts the scheduler on the leader engine. The journal tail (journal-tail.ts) hands it the
 * task runs entries queue, end and abort, and acknowledges an entry once the scheduler is done
 * with its task runs; a new leader rebuilds the queue from the redelivered entries, and
 * assignments from heartbeats. Workers' heartbeats come from their records in the workers
 * bucket; a worker's word that it finished or refused a task run comes as a core message.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import type { Logger } from 'pino';
import {
  decideDispatches,
  decideScheduler,
  type SchedulerDecision,
} from '../actors/scheduler/decide.js';
import type { SchedulerEffect, SchedulerMessage } from '../actors/scheduler/messages.js';
import {
  defaultSchedulerConfig,
  evolveScheduler,
  initialSchedulerState,
  type SchedulerConfig,
  type SchedulerState,
  WORKER_HEARTBEAT_MS,
} from '../actors/scheduler/state.js';
import type { Clock } from './clock.js';
import { decode, encode } from './codec.js';
import { guarded, rejected } from './rejections.js';
import { reply } from './replies.js';
import { DispatchBatcher } from './dispatch-batcher.js';
import { publishToWorker } from './dispatch-signature.js';
import { WorkersWatch } from './workers-watch.js';
import { heartbeatSchema, rateLimitSchema, taskDoneSchema, type Names } from './protocol.js';
import { rateLimitsAt, waitingFor } from '../actors/scheduler/placement.js';
import { answerApi } from './api.js';
import { ConflictLog } from './name-conflicts.js';
import type { TaskRunsReader } from './journal-tail.js';
import { workerOfKey } from './subjects.js';
import { formatHeaders } from './format.js';
import type { LiveTask } from './protocol-api.js';
import type { MetricsSink } from './metrics/engine-metrics.js';

const TICK_MS = 500;

export interface SchedulerHostOptions {
  nc: NatsConnection;
  js: JetStreamClient;
  workers: KV;
  names: Names;
  clock: Clock;
  logger: Logger;
  config?: SchedulerConfig;
  /** The scheduler is done with a task run's journal entry (see JournalTail.release). */
  release: (key: string) => void;
  /** Rate limits upserted by clients (`skein.rateLimits.upsert`). */
  rateLimits?: KV;
  /** Signs what goes to workers when set (see dispatch-signature.ts). */
  dispatchKey?: string;
  metrics?: Pick<MetricsSink, 'dispatched'>;
}

export class SchedulerHost implements TaskRunsReader {
  private state: SchedulerState;
  private subs: Subscription[] = [];
  private watchStop?: () => void;
  private tick?: NodeJS.Timeout;
  /** The next pump due when a rate-limit window frees units. */
  private wake?: { at: number; timer: NodeJS.Timeout };
  private pumpDue?: NodeJS.Immediate;
  private rateLimitsWatchStop?: () => void;
  /**
   * Between start and stop. A stopped scheduler (its engine no longer leads) ignores what still
   * reaches it: with its state frozen, acting on a heartbeat requeued and sent out again task
   * runs whose waits it never heard of (a partition test livelock).
   */
  private running = false;
  private readonly dispatcher: DispatchBatcher;
  private readonly conflicts: ConflictLog;
  private readonly nc: NatsConnection;
  private readonly js: JetStreamClient;
  private readonly names: Names;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly config: SchedulerConfig;

  constructor(private readonly opts: SchedulerHostOptions) {
    this.nc = opts.nc;
    this.js = opts.js;
    this.names = opts.names;
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.config = opts.config ?? defaultSchedulerConfig;
    this.state = initialSchedulerState(this.clock.now(), 0, this.config);
    this.dispatcher = new DispatchBatcher(this.nc, this.names, opts.dispatchKey);
    this.conflicts = new ConflictLog(this.logger, this.config.workerLostAfterMs);
  }

  /** Start before the journal tail: the tail's first entries rebuild this state. */
  async start() {
    const n = this.names;
    // Entries redelivered to a new leader may be running already: wait two heartbeats (and a
    // margin) for their workers to claim them.
    const claimMs = 2 * WORKER_HEARTBEAT_MS + 1000;
    this.state = initialSchedulerState(this.clock.now(), claimMs, this.config);
    this.running = true;
    const workers = new WorkersWatch(
      this.opts.workers,
      (entry) => this.onWorkerEntry(entry),
      () => this.state.workers.size > 0,
      this.logger,
    );
    await workers.start();
    this.watchStop = () => workers.stop();
    if (!this.running) return workers.stop();
    if (this.opts.rateLimits) {
      const limits = await this.opts.rateLimits.watch({ key: 'r.>' });
      this.rateLimitsWatchStop = () => limits.stop();
      if (!this.running) return limits.stop();
      void (async () => {
        for await (const entry of limits) {
          if (entry.operation !== 'PUT') continue;
          this.safely(
            () =>
              this.receive({
                type: 'RateLimitDefined',
                ...rateLimitSchema.parse(decode(entry.value)),
              }),
            'rate-limit-malformed',
          );
        }
      })();
    }
    this.subs.push(
      // A worker's word that it stored a result frees its slot at once; the outcome itself
      // arrives through the journal, maybe behind a backlog of new runs.
      this.nc.subscribe(n.schedulerFinished, {
        callback: guarded(this.logger, 'scheduler-malformed', (msg) =>
          this.receive({ type: 'TaskFinished', ...taskDoneSchema.parse(decode(msg.data)) }),
        ),
      }),
      this.nc.subscribe(n.schedulerRejected, {
        callback: guarded(this.logger, 'scheduler-malformed', (msg) =>
          this.receive({ type: 'DispatchRejected', ...taskDoneSchema.parse(decode(msg.data)) }),
        ),
      }),
      this.nc.subscribe(n.leaderApi('sched.lookup'), {
        callback: guarded(this.logger, 'lookup-malformed', (msg) => {
          const { runId } = decode<{ runId?: unknown }>(msg.data) ?? {};
          const live = typeof runId === 'string' ? this.lookup(runId) : [];
          reply(this.nc, msg, live, () => [], this.logger);
        }),
      }),
      this.nc.subscribe(n.leaderApi('rateLimits.list'), {
        callback: guarded(this.logger, 'api-failed', (msg) =>
          answerApi(
            this.nc,
            msg,
            'rateLimits.list',
            async () => rateLimitsAt(this.state, this.clock.now()),
            this.logger,
          ),
        ),
      }),
    );
    this.tick = setInterval(() => this.safely(() => this.receive({ type: 'Tick' })), TICK_MS);
  }

  async stop() {
    this.running = false;
    clearInterval(this.tick);
    clearTimeout(this.wake?.timer);
    this.wake = undefined;
    if (this.pumpDue) clearImmediate(this.pumpDue);
    this.pumpDue = undefined;
    this.rateLimitsWatchStop?.();
    this.watchStop?.();
    for (const sub of this.subs) sub.unsubscribe();
    this.subs = [];
  }

  /** Runs with task runs dispatched to a worker now, and those workers (for the run index). */
  dispatched(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const entry of this.state.entries.values()) {
      if (!entry.workerId || entry.finished) continue;
      const workers = out.get(entry.task.runId);
      if (!workers) out.set(entry.task.runId, [entry.workerId]);
      else if (!workers.includes(entry.workerId)) workers.push(entry.workerId);
    }
    return out;
  }

  /** Its state, to read (the metrics' queue and slot gauges). */
  view(): Readonly<SchedulerState> {
    return this.state;
  }

  /** Queued and running task runs of one run, as the scheduler sees them now. */
  lookup(runId: string): LiveTask[] {
    const out: LiveTask[] = [];
    const now = this.clock.now();
    for (const [key, entry] of this.state.entries) {
      if (entry.task.runId !== runId) continue;
      out.push({
        key,
        taskName: entry.task.taskName,
        workerId: entry.workerId,
        dispatchedAt: entry.dispatchedAt,
        waitingFor: waitingFor(this.state, entry, now),
      });
    }
    return out;
  }

  /** Runs `fn`, logging what it throws; `reason`: it read a message, which is counted as rejected. */
  private safely(fn: () => void, reason?: string) {
    try {
      fn();
    } catch (err) {
      if (reason) rejected(this.logger, reason, err);
      else this.logger.warn({ reason: String(err) }, 'scheduler ignored a bad message');
    }
  }

  private onWorkerEntry(entry: KvWatchEntry) {
    if (entry.operation !== 'PUT') {
      const workerId = workerOfKey(entry.key);
      this.conflicts.left(workerId);
      this.safely(() => this.receive({ type: 'WorkerLeft', workerId }));
      return;
    }
    this.safely(() => {
      const heartbeat = heartbeatSchema.parse(decode(entry.value));
      this.conflicts.seen(heartbeat, this.clock.now());
      this.receive({ type: 'Heartbeat', heartbeat });
    }, 'heartbeat-malformed');
  }

  /** A message for the scheduler: runs it, then pumps once the burst it came in is over. */
  receive(message: SchedulerMessage) {
    if (!this.running) return;
    const now = this.clock.now();
    this.carryOut(decideScheduler(this.state, message, now));
    this.pumpSoon();
  }

  cancelHeld(
    heldBy: { workerId: string; runId: string; taskName: string },
    key: string,
    reason: string,
  ) {
    const { workerId, runId, taskName } = heldBy;
    const cancel = { key, reason, runId, taskName };
    publishToWorker(
      this.nc,
      this.opts.dispatchKey,
      this.names.workerCancel(workerId),
      encode(cancel),
    );
  }

  /** One pump after a burst of messages: each pump walks every waiting entry. */
  private pumpSoon() {
    this.pumpDue ??= setImmediate(() => {
      this.pumpDue = undefined;
      this.safely(() => this.pump(this.clock.now()));
    });
  }

  private pump(now: number) {
    if (!this.running) return;
    const decision = decideDispatches(this.state, now);
    this.carryOut(decision);
    if (decision.wakeAt !== undefined) this.wakeAt(decision.wakeAt, now);
  }

  /** Pumps again when a rate-limit window frees units, not only on the next message or tick. */
  private wakeAt(at: number, now: number) {
    if (this.wake && this.wake.at <= at) return;
    clearTimeout(this.wake?.timer);
    const timer = setTimeout(
      () => {
        this.wake = undefined;
        this.safely(() => this.pump(this.clock.now()));
      },
      Math.max(0, at - now) + 1,
    );
    this.wake = { at, timer };
  }

  private carryOut(decision: SchedulerDecision) {
    for (const event of decision.events) this.state = evolveScheduler(this.state, event);
    for (const effect of decision.effects) this.perform(effect);
  }

  private perform(effect: SchedulerEffect) {
    const n = this.names;
    switch (effect.type) {
      case 'dispatch':
        this.dispatcher.add(effect.workerId, effect.task);
        this.opts.metrics?.dispatched(effect.task, this.clock.now());
        return;
      case 'ack':
        this.opts.release(effect.key);
        return;
      case 'abortOnWorker':
        publishToWorker(
          this.nc,
          this.opts.dispatchKey,
          n.workerCancel(effect.workerId),
          encode({ key: effect.key, reason: effect.reason }),
        );
        return;
      case 'tellRun':
        this.js
          .publish(n.inboxSubject('run', effect.runId), encode(effect.message), {
            msgID: effect.message.id,
            headers: formatHeaders(),
          })
          .catch((err: unknown) =>
            this.logger.warn({ err, runId: effect.runId }, 'could not tell a run'),
          );
        return;
    }
  }
}
