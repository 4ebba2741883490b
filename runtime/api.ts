/**
 * The engine's query API over NATS request/reply (queue group: any engine answers).
 * Triggers, cancels and results do not come here: they go straight to durable mailboxes.
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { Msg, MsgHdrs, NatsConnection, Subscription } from '@nats-io/nats-core';
import type { Logger } from 'pino';
import { z } from 'zod';
import { isTerminal, runActor, type RunEntrySummary } from '../actors/run/index.js';
import { isQueuedOrRunning } from '../actors/run/state.js';
import { defaultSchedulerConfig } from '../actors/scheduler/state.js';
import type { RunEvent, RunMessage, RunState } from '../actors/run/index.js';
import type { RunFinished } from '../actors/effects.js';
import type { ActorHost } from './actor-host.js';
import type { Clock } from './clock.js';
import { decode, encode } from './codec.js';
import { decodeStored } from './format.js';
import { ValidationError } from './errors.js';
import { decodeEntry, type JournalEntry } from './journal-entries.js';
import type { Journal } from './journal.js';
import { guarded, rejected } from './rejections.js';
import { maxReplyBytes, reply } from './replies.js';
import { callsPage, eventsPage, seekCalls } from './history-pages.js';
import { nameConflicts } from './name-conflicts.js';
import { heartbeatSchema, type Names, type WorkerRecord } from './protocol.js';
import { historyOf, runView } from './run-view.js';
import { listConcurrency, type ConcurrencyGroups } from './concurrency-list.js';
import { listEvents } from './event-list.js';
import { DIRECT_READS, readSubject } from './stream-reads.js';
import {
  apiRequests,
  FORWARDED_API_OPS,
  type ApiOp,
  type ForwardedApiOp,
  type ApiParsed,
  type ApiResponse,
  type HistoryEvent,
  type LiveTask,
  type LogLine,
  type RunView,
  type WorkerView,
} from './protocol-api.js';

export class ApiError extends Error {
  constructor(
    readonly kind: 'NotFoundError' | 'ValidationError',
    message: string,
  ) {
    super(message);
  }
}

const ENDED_READS_AT_ONCE = 32;
/** Room a page of history leaves in its reply for the rest of the answer. */
const PAGE_SLACK = 4096;

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

export interface ApiDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: Names;
  journal: Journal;
  runs: ActorHost<RunState, RunMessage, RunEvent>;
  concurrency: ConcurrencyGroups;
  workers: KV;
  clock: Clock;
  logger: Logger;
}

function finishedOf(view: RunView): RunFinished {
  const runId = view.id;
  if (view.status === 'COMPLETED') return { runId, status: 'COMPLETED', output: view.output };
  if (view.status === 'CANCELLED')
    return { runId, status: 'CANCELLED', reason: view.error ?? 'cancelled' };
  const errors = Object.fromEntries(
    view.tasks.filter((t) => t.status === 'FAILED').map((t) => [t.name, t.error ?? 'failed']),
  );
  return { runId, status: 'FAILED', errors };
}

/**
 * Answers one API request with `handler`'s result, or the error it threw as the SDK's typed
 * error: `{ ok }` or `{ error: { name, message } }`, always under max_payload.
 */
export async function answerApi(
  nc: NatsConnection,
  msg: Msg,
  op: string,
  handler: (req: unknown) => Promise<unknown>,
  logger: Logger,
) {
  let body: unknown;
  try {
    const request = msg.data.length ? decode(msg.data) : {};
    body = { ok: await handler(request) };
  } catch (err) {
    const name =
      err instanceof ApiError
        ? err.kind
        : err instanceof z.ZodError || err instanceof ValidationError
          ? 'ValidationError'
          : 'Error';
    if (name === 'Error') logger.error({ err }, 'api request failed');
    else if (name === 'ValidationError') rejected(logger, 'api-invalid', err);
    const message = (err instanceof Error ? err.message : String(err)).slice(0, 2000);
    body = { error: { name, message } };
  }
  reply(
    nc,
    msg,
    body,
    (bytes, max) => ({
      error: {
        name: 'ValidationError',
        message: `the answer to '${op}' is ${bytes} bytes, over the server's max_payload (${max})${op === 'runs.list' || op === 'runs.page' ? ': ask for fewer runs (a smaller limit)' : ''}`,
      },
    }),
    logger,
  );
}

/** How long an engine keeps trying to pass a run-index query to the leader (a leader change). */
const FORWARD_MS = 8_000;
const FORWARD_RETRY_MS = 200;

export class EngineApi {
  private subs: Subscription[] = [];

  constructor(private readonly d: ApiDeps) {}

  start() {
    const ops: {
      [Op in Exclude<ApiOp, ForwardedApiOp>]: (req: ApiParsed<Op>) => Promise<ApiResponse<Op>>;
    } = {
      'runs.get': (req) => this.getRun(req.runId),
      'runs.getAt': (req) => this.getRunAt(req.runId, req.at),
      'runs.history': (req) => this.history(req.runId),
      'runs.historyPage': (req) => this.historyPage(req),
      'runs.logs': (req) => this.logs(req.runId),
      'runs.ended': (req) => this.ended(req.runIds),
      'workers.list': () => this.listWorkers(),
      'events.list': (req) => listEvents(this.d, req),
      'concurrency.list': () => listConcurrency(this.d.jsm, this.d.names, this.d.concurrency),
      'durable.history': (req) => this.durableHistory(req),
    };
    // Run-index and scheduler queries: any engine takes them from a client and passes them to the leader.
    for (const op of FORWARDED_API_OPS) {
      this.subs.push(
        this.d.nc.subscribe(this.d.names.api(op), {
          queue: 'skein-engine',
          callback: guarded(this.d.logger, 'api-failed', (msg) => this.forward(msg, op)),
        }),
      );
    }
    for (const op of Object.keys(ops) as (keyof typeof ops)[]) {
      const serve = ops[op] as (req: unknown) => Promise<unknown>;
      const handler = (req: unknown) => serve(apiRequests[op].parse(req));
      this.subs.push(
        this.d.nc.subscribe(this.d.names.api(op), {
          queue: 'skein-engine',
          callback: guarded(this.d.logger, 'api-failed', (msg) =>
            answerApi(this.d.nc, msg, op, handler, this.d.logger),
          ),
        }),
      );
    }
  }

  stop() {
    for (const sub of this.subs) sub.unsubscribe();
    this.subs = [];
  }

  /** Passes a run-index query to the leader and its answer back, through a leader change. */
  private async forward(msg: Msg, op: ForwardedApiOp) {
    const deadline = Date.now() + FORWARD_MS;
    for (;;) {
      const left = deadline - Date.now();
      try {
        const answer = await this.d.nc.request(this.d.names.leaderApi(op), msg.data, {
          timeout: Math.max(100, left),
        });
        msg.respond(answer.data);
        return;
      } catch (err) {
        if (left > FORWARD_RETRY_MS && err instanceof Error && /no responders/i.test(err.message)) {
          await new Promise((r) => setTimeout(r, FORWARD_RETRY_MS));
          continue;
        }
        const message = `no engine leading namespace '${this.d.names.ns}' answered '${op}': ${String(err)}`;
        reply(
          this.d.nc,
          msg,
          { error: { name: 'Error', message } },
          () => undefined,
          this.d.logger,
        );
        return;
      }
    }
  }

  /** A journal entry read back, or undefined (counted) when garbage was stored there. */
  private entryOrSkip(stored: { data: Uint8Array; headers?: MsgHdrs }): JournalEntry | undefined {
    try {
      return decodeEntry(stored.data, stored.headers);
    } catch (err) {
      rejected(this.d.logger, 'journal-malformed', err);
      return undefined;
    }
  }

  private async live(runId: string): Promise<LiveTask[]> {
    try {
      const reply = await this.d.nc.request(
        this.d.names.leaderApi('sched.lookup'),
        encode({ runId }),
        { timeout: 1000 },
      );
      return decode<LiveTask[]>(reply.data);
    } catch {
      return [];
    }
  }

  async getRun(runId: string): Promise<RunView> {
    const { state } = await this.d.runs.read(runId);
    if (!state.exists) throw new ApiError('NotFoundError', `no run with id '${runId}'`);
    return runView(
      state,
      state.status === 'QUEUED' || state.status === 'RUNNING' ? await this.live(runId) : [],
    );
  }

  /**
   * The run right after its history event `at`: its events up to there, folded by the run
   * actor's own evolve (time travel). Past the end, the run as it is now.
   */
  async getRunAt(runId: string, at: number): Promise<RunView> {
    let state = runActor.initial(runId);
    let seq = 0;
    for await (const { entry } of this.d.journal.entries('run', runId)) {
      for (const event of entry.ev as RunEvent[]) {
        if (++seq > at) return runView(state, []);
        state = runActor.evolve(state, event);
      }
    }
    return this.getRun(runId);
  }

  /** Which of these runs have ended, and how: read from each run's last journal entry. */
  private async ended(runIds: string[]): Promise<RunFinished[]> {
    const out: RunFinished[] = [];
    await forEachLimited(runIds, ENDED_READS_AT_ONCE, async (runId) => {
      const last = await this.d.jsm.direct.getMessage(this.d.names.streams.journal, {
        last_by_subj: this.d.names.journalSubject('run', runId),
      });
      if (!last) return;
      const entry = this.entryOrSkip({ data: last.data, headers: last.header });
      if (!entry) return;
      const finished = entry.fx.find((fx) => fx.type === 'runFinished');
      if (finished?.type === 'runFinished') out.push(finished.result);
      else if (isTerminal((entry.s as RunEntrySummary | undefined)?.status ?? 'QUEUED'))
        out.push(finishedOf(await this.getRun(runId)));
    });
    return out;
  }

  private async history(runId: string): Promise<HistoryEvent[]> {
    const entries = await this.d.journal.read('run', runId);
    // Entries that did not decode come back empty: a subject holding only those is no run.
    if (!entries.some((e) => e.entry.ev.length > 0))
      throw new ApiError('NotFoundError', `no run with id '${runId}'`);
    return historyOf(entries.map((e) => e.entry));
  }

  /** One page of a run's history: events after `after`, as many as fit in a reply. */
  private async historyPage(q: ApiParsed<'runs.historyPage'>) {
    // A long page (the dashboard's) reads through a consumer from the start, not entry by entry.
    const long = q.limit !== undefined && q.limit > DIRECT_READS;
    const entries = this.d.journal.entries('run', q.runId, q.from?.seq, long ? 0 : undefined);
    const page = await eventsPage(entries, { ...q, budget: this.pageBudget() });
    if (!page.found && !q.from) throw new ApiError('NotFoundError', `no run with id '${q.runId}'`);
    return { events: page.events, end: page.end, next: page.next };
  }

  /**
   * A durable task's recorded calls from position `after` on, for a worker about to replay
   * attempt `key` (none when the run moved past it): as many as fit in a reply, read from the
   * journal from `from` (where the worker's last read ended) or else from the run's start.
   */
  private async durableHistory(q: ApiParsed<'durable.history'>) {
    const { state, lastSeq } = await this.d.runs.read(q.runId);
    const task = state.tasks[q.taskName];
    if (!task) throw new ApiError('NotFoundError', `run '${q.runId}' has no task '${q.taskName}'`);
    const live = isQueuedOrRunning(state, q.taskName, q.key);
    const total = task.callCount ?? 0;
    const after = q.after ?? 0;
    // Nothing to send: whatever the task records from now on is after the run's last entry.
    if (!live || after >= total) return { calls: [], live, total, next: lastSeq + 1 };
    const read = (from: number | undefined) =>
      callsPage(this.d.journal.entries('run', q.runId, from), {
        taskName: q.taskName,
        generation: state.generation,
        after,
        // An earlier answer's `next` is in the generation of the key the worker asked with.
        fromGeneration: from === undefined ? 0 : state.generation,
        budget: this.pageBudget(),
      });
    // Known calls the worker recorded after its last read are skipped by a search, not a read.
    const start =
      q.from !== undefined && after > 0
        ? await seekCalls(
            (seq) => this.d.journal.entryFrom('run', q.runId, seq),
            q.taskName,
            after,
            q.from,
            lastSeq,
          )
        : q.from;
    let page = await read(start);
    // A `from` past the calls asked for (not one this engine gave) finds too few: read it all.
    if (q.from !== undefined && page.complete && page.calls.length < total - after)
      page = await read(undefined);
    return { calls: page.calls, live, total, next: page.next };
  }

  /** What a page's items may take: a reply's room, less some for the rest of the answer. */
  private pageBudget() {
    return maxReplyBytes(this.d.nc) - PAGE_SLACK;
  }

  private async logs(runId: string): Promise<LogLine[]> {
    const { jsm, names } = this.d;
    const stored = await readSubject(jsm, names.streams.logs, names.logSubject(runId));
    return stored.flatMap((m) => {
      try {
        return [decodeStored('log', m)];
      } catch (err) {
        rejected(this.d.logger, 'log-malformed', err);
        return [];
      }
    });
  }

  private async listWorkers(): Promise<WorkerView[]> {
    const now = this.d.clock.now();
    const records = [];
    for await (const key of await this.d.workers.keys('w.>')) {
      const entry = await this.d.workers.get(key);
      if (!entry || entry.operation !== 'PUT') continue;
      // A record this engine cannot read (garbage, another version's worker) hides no other worker.
      const parsed = heartbeatSchema.safeParse(safeDecode(entry.value));
      if (parsed.success) records.push(parsed.data);
      else rejected(this.d.logger, 'heartbeat-malformed', parsed.error);
    }
    const lost = (hb: WorkerRecord) => now - hb.sentAt > defaultSchedulerConfig.workerLostAfterMs;
    const conflicts = nameConflicts(records.filter((hb) => !lost(hb)));
    return records.map((hb): WorkerView => ({
      id: hb.workerId,
      name: hb.name,
      status: lost(hb) ? 'LOST' : hb.stopping ? 'STOPPING' : 'ACTIVE',
      slots: hb.slots,
      labels: hb.labels ?? {},
      lastHeartbeatAt: hb.sentAt,
      runningCount: hb.running.length,
      serves: hb.serves.map((s) => s.name),
      conflicts: conflicts.get(hb.workerId) ?? [],
    }));
  }
}

function safeDecode(data: Uint8Array): unknown {
  try {
    return decode(data);
  } catch {
    return undefined;
  }
}
