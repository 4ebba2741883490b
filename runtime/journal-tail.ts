/**
 * The leader's tail of the run journal (its `scheduler` consumer): reads each entry once and
 * fans it out to whoever needs it. Its `enqueue`, `abortTask` effects, attempt-ending events and
 * recorded requeues go to the scheduler, its `awaitEvent` / `endWait` effects to the event
 * router, a run a client created (its first entry) to the run cache, and every entry to the run
 * index. An entry stays unacknowledged while one of its keys is open (a queued task run, an
 * event wait), so a new leader rebuilds the queue and the waits from the redelivered entries.
 */
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { Effect, EventWait } from '../actors/effects.js';
import type { RunState } from '../actors/run/index.js';
import { isQueuedOrRunning } from '../actors/run/state.js';
import type { SchedulerMessage } from '../actors/scheduler/messages.js';
import type { QueuedTask } from '../actors/scheduler/queued-task.js';
import { idProblem } from './bounds.js';
import { ConsumerLoop } from './consumer-loop.js';
import { decodeEntry, takeNoted, type JournalEntry } from './journal-entries.js';
import type { Names } from './protocol.js';
import { rejected } from './rejections.js';
import { restartSchedulerConsumer } from './setup.js';

/** Entries kept for the tail to read without decoding; past this it decodes. */
const MAX_NOTED = 20_000;
/** Events after which a task run attempt no longer needs a worker slot. */
const ENDS_ATTEMPT = new Set(['TaskSucceeded', 'TaskFailed', 'TaskSuspended']);

type HeldBy = NonNullable<Extract<Effect, { type: 'abortTask' }>['heldBy']>;

/** Where the task runs an entry queues, ends or aborts go (the scheduler host). */
export interface TaskRunsReader {
  /** `Enqueue`, `TaskDone`, `RequeueRecorded` or `Abort`, read from the journal. */
  receive(message: SchedulerMessage): void;
  /** A task run held in a worker's memory (suspended) was cancelled: tell that worker. */
  cancelHeld(heldBy: HeldBy, key: string, reason: string): void;
}

/** Where event waits read from the journal go (the event router). */
export interface EventWaitsReader {
  add(wait: EventWait): void;
  remove(key: string): void;
}

export interface JournalTailOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: Names;
  logger: Logger;
  tasks: TaskRunsReader;
  waits?: EventWaitsReader;
  /**
   * Told of runs created by clients (their first entry), so the engine can keep them in memory
   * and carry out the creating turn's effects; resolves once those are stored.
   */
  onRunCreated?: (runId: string, seq: number, entry: JournalEntry) => Promise<void> | undefined;
  /** A run's current state, to check entries a dead leader left unacknowledged. */
  readRun?: (runId: string) => Promise<RunState>;
  /** Told of each entry the tail had to decode, so that another reader need not (the run index). */
  onDecoded?: (seq: number, entry: JournalEntry) => void;
  /**
   * Told of each entry it reads, in journal order (the run index follows the journal here);
   * `redelivered`: an earlier leader may have read it already.
   */
  onEntry?: (seq: number, subject: string, entry: JournalEntry, redelivered: boolean) => void;
}

export class JournalTail {
  /** Journal entries holding queued task runs or waits, by stream sequence, with the keys still open. */
  private readonly held = new Map<number, { msg: JsMsg; keys: Set<string> }>();
  private readonly heldSeqOf = new Map<string, number>();
  private loop?: ConsumerLoop;
  /** Entries appended by this engine, by sequence, until the tail reads them. */
  private readonly appended = new Map<number, JournalEntry>();
  private lastSeen = 0;
  /** Entries up to this sequence were delivered to an earlier leader: treat them as redelivered. */
  private recoverUpTo = 0;

  constructor(private readonly opts: JournalTailOptions) {}

  async start() {
    const { js, jsm, names, logger } = this.opts;
    this.recoverUpTo = await restartSchedulerConsumer(jsm, names);
    this.loop = new ConsumerLoop(
      js,
      names.streams.journal,
      'scheduler',
      (m) => this.onJournalEntry(m),
      logger,
      5000,
    );
    await this.loop.start();
  }

  /** Its consumer's last delivered stream sequence and how many entries it has yet to deliver. */
  async position(): Promise<{ delivered: number; pending: number }> {
    const info = await this.opts.jsm.consumers.info(this.opts.names.streams.journal, 'scheduler');
    return { delivered: info.delivered.stream_seq, pending: info.num_pending };
  }

  /** See ConsumerLoop.pullAgain: false when the scheduler must start again from the ack floor. */
  pullAgain(): Promise<boolean> {
    return this.loop?.pullAgain() ?? Promise.resolve(false);
  }

  /** Its consumer loop is running (see KeepRunning). */
  healthy() {
    return this.loop?.healthy() ?? false;
  }

  async stop() {
    await this.loop?.stop();
    this.loop = undefined;
    this.held.clear();
    this.heldSeqOf.clear();
    this.appended.clear();
  }

  /** An entry this engine just appended, so reading it back from the journal needs no decoding. */
  noteAppended(seq: number, entry: JournalEntry) {
    // The consumer may have delivered it already (its ack raced the append's): then it is read.
    if (this.loop && seq > this.lastSeen && this.appended.size < MAX_NOTED)
      this.appended.set(seq, entry);
  }

  /** A queued task run or an event wait is over: once its journal entry holds no open one, acknowledge it. */
  release(key: string) {
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

  /** Takes the noted entry for `seq`, forgetting older ones the consumer has passed. */
  private takeNoted(seq: number): JournalEntry | undefined {
    this.lastSeen = Math.max(this.lastSeen, seq);
    return takeNoted(this.appended, seq);
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
        this.opts.onDecoded?.(msg.seq, entry);
        checkTailEffects(entry.fx);
        creating = this.noteCreation(msg.seq, entry);
      }
    } catch (err) {
      rejected(this.opts.logger, 'journal-malformed', err);
      msg.ack();
      return;
    }
    const { tasks, waits } = this.opts;
    this.opts.onEntry?.(msg.seq, msg.subject, entry, this.isRedelivery(msg));
    for (const event of entry.ev as { type: string; key?: string; workerId?: string }[]) {
      if (event.key && ENDS_ATTEMPT.has(event.type))
        tasks.receive({ type: 'TaskDone', key: event.key });
      // The scheduler holds a requeued task run back until its run has recorded why.
      else if (event.type === 'TaskRequeued' && event.key && event.workerId)
        tasks.receive({ type: 'RequeueRecorded', key: event.key, workerId: event.workerId });
    }
    for (const effect of entry.fx) {
      if (effect.type === 'abortTask' && effect.heldBy) {
        tasks.cancelHeld(effect.heldBy, effect.key, effect.reason);
      } else if (effect.type === 'abortTask') {
        tasks.receive({ type: 'Abort', key: effect.key, reason: effect.reason });
      }
      if (effect.type === 'endWait') {
        waits?.remove(effect.key);
        this.release(effect.key);
      }
    }
    const queued = entry.fx.flatMap((effect) => (effect.type === 'enqueue' ? [effect.task] : []));
    const waited = entry.fx.flatMap((effect) =>
      effect.type === 'awaitEvent' ? [effect.wait] : [],
    );
    if (queued.length === 0 && waited.length === 0) {
      // A creation's messages (a concurrency group's ask, say) are its only trace: keep the
      // entry until they are stored, so that a new leader carries them out if this one cannot.
      if (!creating) return msg.ack();
      return creating.then(
        () => msg.ack(),
        () => undefined,
      );
    }
    if (!this.isRedelivery(msg)) return this.hold(msg, queued, waited);
    return this.stillQueued(msg, queued).then((live) =>
      live.length === 0 && waited.length === 0 ? msg.ack() : this.hold(msg, live, waited),
    );
  }

  private noteCreation(seq: number, entry: JournalEntry): Promise<void> | undefined {
    const first = entry.ev[0] as { type?: string; runId?: unknown } | undefined;
    if (first?.type === 'RunTriggered' && typeof first.runId === 'string')
      return this.opts.onRunCreated?.(first.runId, seq, entry);
  }

  /** Keeps the entry unacknowledged while its queued tasks run and its event waits last. */
  private hold(msg: JsMsg, queued: QueuedTask[], waited: EventWait[]) {
    const keys = [...queued.map((task) => task.key), ...waited.map((wait) => wait.key)];
    this.held.set(msg.seq, { msg, keys: new Set(keys) });
    for (const key of keys) this.heldSeqOf.set(key, msg.seq);
    const redelivered = this.isRedelivery(msg);
    for (const task of queued) this.opts.tasks.receive({ type: 'Enqueue', task, redelivered });
    for (const wait of waited) this.opts.waits?.add(wait);
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
      const last = await this.opts.jsm.direct.getMessage(this.opts.names.streams.journal, {
        last_by_subj: msg.subject,
      });
      if (!last || last.seq <= msg.seq) return queued;
      const status = (decodeEntry(last.data, last.header).s as { status?: string } | undefined)
        ?.status;
      if (status === 'COMPLETED' || status === 'FAILED' || status === 'CANCELLED') return [];
      if (!this.opts.readRun) return queued;
      const run = await this.opts.readRun(queued[0].runId);
      return queued.filter((task) => isQueuedOrRunning(run, task.taskName, task.key));
    } catch {
      return queued;
    }
  }
}

/** What the tail reads of a decoded entry's effects must be there (garbage may be stored). */
function checkTailEffects(fx: JournalEntry['fx']) {
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
