/**
 * Hosts the scheduler on the leader engine. It reads the run journal: an entry's `enqueue`
 * effects queue task runs, its `abortTask` effects drop them, its outcome events end them.
 * An entry that queued a task stays unacknowledged until that task run is over, so a new
 * leader rebuilds the queue from the redelivered entries, and assignments from heartbeats.
 * Workers' heartbeats come from their records in the workers bucket.
 */
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
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
} from '../actors/scheduler/state.js';
import type { Clock } from './clock.js';
import { decode, encode } from './codec.js';
import { formatHeaders } from './format.js';
import { ConsumerLoop } from './consumer-loop.js';
import { guarded, rejected } from './rejections.js';
import { reply } from './replies.js';
import { DispatchBatcher } from './dispatch-batcher.js';
import { publishToWorker } from './dispatch-signature.js';
import { idProblem } from './bounds.js';
import { decodeEntry, type JournalEntry } from './journal.js';
import { restartSchedulerConsumer } from './setup.js';
import type { QueuedTask } from '../actors/scheduler/queued-task.js';
import type { EventWait } from '../actors/effects.js';
import type { RunState } from '../actors/run/index.js';
import { isQueuedOrRunning } from '../actors/run/state.js';
import type { EventRouter } from './event-router.js';
import { idFromToken } from './mailbox.js';
import { heartbeatSchema, rateLimitSchema, taskDoneSchema, type Names } from './protocol.js';
import { waitingFor } from '../actors/scheduler/placement.js';
import { ConflictLog } from './name-conflicts.js';

const TICK_MS = 500;
/** Entries kept for the scheduler to read without decoding; past this it decodes. */
const MAX_NOTED = 20_000;
/** Events that end an attempt: its queue entry is done with. */
/** Events after which a task run attempt no longer needs a worker slot. */
const ENDS_ATTEMPT = new Set(['TaskSucceeded', 'TaskFailed', 'TaskSuspended']);

export interface LiveTask {
  key: string;
  taskName: string;
  workerId?: string;
  dispatchedAt?: number;
  /** Why it is still queued (see actors/scheduler/placement.ts). */
  waitingFor?: string;
}

export class SchedulerHost {
  private state: SchedulerState;
  /** Journal entries holding queued task runs, by stream sequence, with the keys still open. */
  private readonly held = new Map<number, { msg: JsMsg; keys: Set<string> }>();
  private readonly heldSeqOf = new Map<string, number>();
  private loop?: ConsumerLoop;
  private subs: Subscription[] = [];
  private watchStop?: () => void;
  private tick?: NodeJS.Timeout;
  /** The next pump due when a rate-limit window frees units. */
  private wake?: { at: number; timer: NodeJS.Timeout };
  private pumpDue?: NodeJS.Immediate;
  private rateLimitsWatchStop?: () => void;
  private readonly dispatcher: DispatchBatcher;
  private readonly conflicts: ConflictLog;
  /** Entries appended by this engine, by sequence, until the scheduler reads them. */
  private readonly appended = new Map<number, JournalEntry>();
  private lastSeen = 0;
  /** Entries up to this sequence were delivered to an earlier leader: treat them as redelivered. */
  private recoverUpTo = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly workers: KV,
    private readonly names: Names,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly config: SchedulerConfig = defaultSchedulerConfig,
    /**
     * Told of runs created by clients (their first entry), so the engine can keep them in memory
     * and carry out the creating turn's effects; resolves once those are stored.
     */
    private readonly onRunCreated?: (
      runId: string,
      seq: number,
      entry: JournalEntry,
    ) => Promise<void> | undefined,
    /** Where event waits read from the journal go. */
    private readonly events?: EventRouter,
    /** A run's current state, to check entries a dead leader left unacknowledged. */
    private readonly readRun?: (runId: string) => Promise<RunState>,
    /** Rate limits upserted by clients (`skein.rateLimits.upsert`). */
    private readonly rateLimits?: KV,
    /** Signs what goes to workers when set (see dispatch-signature.ts). */
    private readonly dispatchKey?: string,
  ) {
    this.state = initialSchedulerState(clock.now(), 0, config);
    this.dispatcher = new DispatchBatcher(nc, names, dispatchKey);
    this.conflicts = new ConflictLog(logger, config.workerLostAfterMs);
  }

  async start() {
    const n = this.names;
    // Entries redelivered to a new leader may be running already: wait for heartbeats to claim them.
    this.state = initialSchedulerState(this.clock.now(), 2 * 2000 + 1000, this.config);
    const watch = await this.workers.watch({ key: 'w.>' });
    this.watchStop = () => watch.stop();
    void (async () => {
      for await (const entry of watch) this.onWorkerEntry(entry);
    })();
    if (this.rateLimits) {
      const limits = await this.rateLimits.watch({ key: 'r.>' });
      this.rateLimitsWatchStop = () => limits.stop();
      void (async () => {
        for await (const entry of limits) {
          if (entry.operation !== 'PUT') continue;
          this.safely(
            () =>
              this.apply({
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
          this.apply({ type: 'TaskFinished', ...taskDoneSchema.parse(decode(msg.data)) }),
        ),
      }),
      this.nc.subscribe(n.schedulerRejected, {
        callback: guarded(this.logger, 'scheduler-malformed', (msg) =>
          this.apply({ type: 'DispatchRejected', ...taskDoneSchema.parse(decode(msg.data)) }),
        ),
      }),
      this.nc.subscribe(n.leaderApi('sched.lookup'), {
        callback: guarded(this.logger, 'lookup-malformed', (msg) => {
          const { runId } = decode<{ runId?: unknown }>(msg.data) ?? {};
          const live = typeof runId === 'string' ? this.lookup(runId) : [];
          reply(this.nc, msg, live, () => [], this.logger);
        }),
      }),
    );
    this.recoverUpTo = await restartSchedulerConsumer(this.jsm, n);
    this.loop = new ConsumerLoop(
      this.js,
      n.streams.journal,
      'scheduler',
      (m) => this.onJournalEntry(m),
      this.logger,
      5000,
    );
    await this.loop.start();
    this.tick = setInterval(() => this.safely(() => this.apply({ type: 'Tick' })), TICK_MS);
  }

  /** Its consumer loop is running (see KeepRunning). */
  healthy() {
    return this.loop?.healthy() ?? false;
  }

  async stop() {
    clearInterval(this.tick);
    clearTimeout(this.wake?.timer);
    this.wake = undefined;
    if (this.pumpDue) clearImmediate(this.pumpDue);
    this.pumpDue = undefined;
    this.rateLimitsWatchStop?.();
    this.watchStop?.();
    for (const sub of this.subs) sub.unsubscribe();
    this.subs = [];
    await this.loop?.stop();
    this.loop = undefined;
    this.held.clear();
    this.heldSeqOf.clear();
    this.appended.clear();
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
      const workerId = idFromToken(entry.key.slice(2));
      this.conflicts.left(workerId);
      this.safely(() => this.apply({ type: 'WorkerLeft', workerId }));
      return;
    }
    this.safely(() => {
      const heartbeat = heartbeatSchema.parse(decode(entry.value));
      this.conflicts.seen(heartbeat, this.clock.now());
      this.apply({ type: 'Heartbeat', heartbeat });
    }, 'heartbeat-malformed');
  }

  /** An entry this engine just appended, so reading it back from the journal needs no decoding. */
  noteAppended(seq: number, entry: JournalEntry) {
    // The consumer may have delivered it already (its ack raced the append's): then it is read.
    if (this.loop && seq > this.lastSeen && this.appended.size < MAX_NOTED)
      this.appended.set(seq, entry);
  }

  /** Takes the noted entry for `seq`, forgetting older ones the consumer has passed. */
  private takeNoted(seq: number): JournalEntry | undefined {
    this.lastSeen = Math.max(this.lastSeen, seq);
    for (const noted of this.appended.keys()) {
      if (noted >= seq) break;
      this.appended.delete(noted);
    }
    const entry = this.appended.get(seq);
    this.appended.delete(seq);
    return entry;
  }

  private onJournalEntry(msg: JsMsg): void | Promise<void> {
    const known = this.held.get(msg.seq);
    if (known) {
      known.msg = msg; // redelivered after ack_wait while its task runs: keep the newest handle
      return;
    }
    let entry = this.takeNoted(msg.seq);
    let creating: Promise<void> | undefined;
    try {
      if (!entry) {
        entry = decodeEntry(msg.data, msg.headers);
        checkSchedulerEffects(entry.fx);
        creating = this.noteCreation(msg.seq, entry);
      }
    } catch (err) {
      rejected(this.logger, 'journal-malformed', err);
      msg.ack();
      return;
    }
    for (const event of entry.ev as { type: string; key?: string }[]) {
      if (event.key && ENDS_ATTEMPT.has(event.type))
        this.apply({ type: 'TaskDone', key: event.key });
    }
    for (const effect of entry.fx) {
      if (effect.type === 'abortTask' && effect.heldBy) {
        const { workerId, runId, taskName } = effect.heldBy;
        const cancel = { key: effect.key, reason: effect.reason, runId, taskName };
        publishToWorker(
          this.nc,
          this.dispatchKey,
          this.names.workerCancel(workerId),
          encode(cancel),
        );
      } else if (effect.type === 'abortTask') {
        this.apply({ type: 'Abort', key: effect.key, reason: effect.reason });
      }
      if (effect.type === 'endWait') {
        this.events?.remove(effect.key);
        this.releaseHeld(effect.key);
      }
    }
    const queued = entry.fx.flatMap((effect) => (effect.type === 'enqueue' ? [effect.task] : []));
    const waits = entry.fx.flatMap((effect) => (effect.type === 'awaitEvent' ? [effect.wait] : []));
    if (queued.length === 0 && waits.length === 0) {
      // A creation's messages (a concurrency group's ask, say) are its only trace: keep the
      // entry until they are stored, so that a new leader carries them out if this one cannot.
      if (!creating) return msg.ack();
      return creating.then(
        () => msg.ack(),
        () => undefined,
      );
    }
    if (!this.isRedelivery(msg)) return this.hold(msg, queued, waits);
    return this.stillQueued(msg, queued).then((live) =>
      live.length === 0 && waits.length === 0 ? msg.ack() : this.hold(msg, live, waits),
    );
  }

  private noteCreation(seq: number, entry: JournalEntry): Promise<void> | undefined {
    const first = entry.ev[0] as { type?: string; runId?: unknown } | undefined;
    if (first?.type === 'RunTriggered' && typeof first.runId === 'string')
      return this.onRunCreated?.(first.runId, seq, entry);
  }

  /** Keeps the entry unacknowledged while its queued tasks run and its event waits last. */
  private hold(msg: JsMsg, queued: QueuedTask[], waits: EventWait[]) {
    const keys = [...queued.map((task) => task.key), ...waits.map((wait) => wait.key)];
    this.held.set(msg.seq, { msg, keys: new Set(keys) });
    for (const key of keys) this.heldSeqOf.set(key, msg.seq);
    for (const task of queued)
      this.apply({ type: 'Enqueue', task, redelivered: this.isRedelivery(msg) });
    for (const wait of waits) this.events?.add(wait);
  }

  private isRedelivery(msg: JsMsg) {
    return msg.info.redelivered || msg.seq <= this.recoverUpTo;
  }

  /**
   * The task runs of a redelivered entry that are still queued or running: the old leader may
   * have lost the ack of an entry whose task runs ended (or were suspended) since.
   */
  private async stillQueued(msg: JsMsg, queued: QueuedTask[]): Promise<QueuedTask[]> {
    if (queued.length === 0) return queued;
    try {
      const last = await this.jsm.direct.getMessage(this.names.streams.journal, {
        last_by_subj: msg.subject,
      });
      if (!last || last.seq <= msg.seq) return queued;
      const status = (decodeEntry(last.data, last.header).s as { status?: string } | undefined)
        ?.status;
      if (status === 'COMPLETED' || status === 'FAILED' || status === 'CANCELLED') return [];
      if (!this.readRun) return queued;
      const run = await this.readRun(queued[0].runId);
      return queued.filter((task) => isQueuedOrRunning(run, task.taskName, task.key));
    } catch {
      return queued;
    }
  }

  /** A queued task run is over: once its journal entry holds no open one, acknowledge it. */
  private releaseHeld(key: string) {
    const seq = this.heldSeqOf.get(key);
    if (seq === undefined) return;
    this.heldSeqOf.delete(key);
    const held = this.held.get(seq);
    if (!held) return;
    held.keys.delete(key);
    if (held.keys.size === 0) {
      held.msg.ack();
      this.held.delete(seq);
    }
  }

  private apply(message: SchedulerMessage) {
    const now = this.clock.now();
    this.carryOut(decideScheduler(this.state, message, now));
    this.pumpSoon();
  }

  /** One pump after a burst of messages: each pump walks every waiting entry. */
  private pumpSoon() {
    this.pumpDue ??= setImmediate(() => {
      this.pumpDue = undefined;
      this.safely(() => this.pump(this.clock.now()));
    });
  }

  private pump(now: number) {
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
        return;
      case 'ack':
        this.releaseHeld(effect.key);
        return;
      case 'abortOnWorker':
        publishToWorker(
          this.nc,
          this.dispatchKey,
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

/** What the scheduler reads of a decoded entry's effects must be there (garbage may be stored). */
function checkSchedulerEffects(fx: JournalEntry['fx']) {
  const text = (v: unknown) => typeof v === 'string' && v.length > 0;
  for (const effect of fx) {
    const ok =
      effect.type === 'enqueue'
        ? text(effect.task?.key) && text(effect.task.runId) && text(effect.task.taskName)
        : effect.type === 'abortTask'
          ? text(effect.key) &&
            (!effect.heldBy || idProblem('worker id', effect.heldBy.workerId) === undefined)
          : effect.type === 'awaitEvent'
            ? text(effect.wait?.key) && idProblem('event key', effect.wait.eventKey) === undefined
            : effect.type === 'endWait'
              ? text(effect.key)
              : true;
    if (!ok) throw new Error(`a malformed '${effect.type}' effect`);
  }
}
