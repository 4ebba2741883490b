/**
 * The engine's query API over NATS request/reply (queue group: any engine answers).
 * Triggers, cancels and results do not come here: they go straight to durable mailboxes.
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { Msg, MsgHdrs, NatsConnection, Subscription } from '@nats-io/nats-core';
import type { Logger } from 'pino';
import { z } from 'zod';
import { isTerminal, type RunSummary } from '../actors/run/index.js';
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
import { reply } from './replies.js';
import { nameConflicts } from './name-conflicts.js';
import { heartbeatSchema, type Names, type WorkerRecord } from './protocol.js';
import { historyOf, runView } from './run-view.js';
import { readLastPerSubject, readSubject } from './stream-reads.js';
import { idOfJournalSubject } from './subjects.js';
import {
  apiRequests,
  type ApiOp,
  type ApiParsed,
  type ApiResponse,
  type HistoryEvent,
  type LiveTask,
  type LogLine,
  type RunView,
  type WorkerView,
} from './protocol-api.js';

class ApiError extends Error {
  constructor(
    readonly kind: 'NotFoundError' | 'ValidationError',
    message: string,
  ) {
    super(message);
  }
}

const ENDED_READS_AT_ONCE = 32;

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

export class EngineApi {
  private subs: Subscription[] = [];

  constructor(private readonly d: ApiDeps) {}

  start() {
    const ops: { [Op in ApiOp]: (req: ApiParsed<Op>) => Promise<ApiResponse<Op>> } = {
      'runs.get': (req) => this.getRun(req.runId),
      'runs.list': (req) => this.listRuns(req),
      'runs.history': (req) => this.history(req.runId),
      'runs.logs': (req) => this.logs(req.runId),
      'runs.ended': (req) => this.ended(req.runIds),
      'workers.list': () => this.listWorkers(),
      'durable.history': (req) => this.durableHistory(req),
    };
    for (const op of Object.keys(ops) as ApiOp[]) {
      const serve = ops[op] as (req: unknown) => Promise<unknown>;
      const handler = (req: unknown) => serve(apiRequests[op].parse(req));
      this.subs.push(
        this.d.nc.subscribe(this.d.names.api(op), {
          queue: 'skein-engine',
          callback: guarded(this.d.logger, 'api-failed', (msg) => this.answer(msg, op, handler)),
        }),
      );
    }
  }

  stop() {
    for (const sub of this.subs) sub.unsubscribe();
    this.subs = [];
  }

  private async answer(msg: Msg, op: string, handler: (req: unknown) => Promise<unknown>) {
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
      if (name === 'Error') this.d.logger.error({ err }, 'api request failed');
      else if (name === 'ValidationError') rejected(this.d.logger, 'api-invalid', err);
      const message = (err instanceof Error ? err.message : String(err)).slice(0, 2000);
      body = { error: { name, message } };
    }
    reply(
      this.d.nc,
      msg,
      body,
      (bytes, max) => ({
        error: {
          name: 'ValidationError',
          message: `the answer to '${op}' is ${bytes} bytes, over the server's max_payload (${max})${op === 'runs.list' ? ': ask for fewer runs (a smaller limit)' : ''}`,
        },
      }),
      this.d.logger,
    );
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

  private async summaryOf(runId: string): Promise<RunSummary | undefined> {
    const view = await this.getRun(runId).catch(() => undefined);
    if (!view) return undefined;
    const { name, status, createdAt, additionalMetadata } = view;
    return { name, status: status as RunSummary['status'], createdAt, additionalMetadata };
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
      else if (isTerminal((entry.s as RunSummary | undefined)?.status ?? 'QUEUED'))
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

  /** A durable task's recorded calls, for a worker about to replay attempt `key` (unless the run moved past it). */
  private async durableHistory(q: ApiParsed<'durable.history'>) {
    const { state } = await this.d.runs.read(q.runId);
    const task = state.tasks[q.taskName];
    if (!task) throw new ApiError('NotFoundError', `run '${q.runId}' has no task '${q.taskName}'`);
    return { calls: task.calls ?? [], live: isQueuedOrRunning(state, q.taskName, q.key) };
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

  private async listRuns(q: ApiParsed<'runs.list'>): Promise<RunView[]> {
    const { js, jsm, names } = this.d;
    const last = await readLastPerSubject(js, jsm, names.streams.journal, names.journalAll('run'));
    const matches: { runId: string; s: RunSummary }[] = [];
    for (const m of last) {
      const runId = idOfJournalSubject(m.subject);
      const entry = this.entryOrSkip(m);
      // Garbage stored after a run's last turn: its summary is read from the run itself.
      const s = entry ? (entry.s as RunSummary | undefined) : await this.summaryOf(runId);
      if (!s || typeof s.createdAt !== 'number') continue;
      if (q.name && s.name !== q.name) continue;
      if (q.status && isTerminal(q.status) !== isTerminal(s.status)) continue;
      if (q.status && isTerminal(q.status) && s.status !== q.status) continue;
      if (q.since !== undefined && s.createdAt < q.since) continue;
      if (q.until !== undefined && s.createdAt > q.until) continue;
      if (
        q.additionalMetadata &&
        Object.entries(q.additionalMetadata).some(([k, v]) => s.additionalMetadata[k] !== v)
      )
        continue;
      matches.push({ runId, s });
    }
    matches.sort((a, b) => b.s.createdAt - a.s.createdAt);
    const limit = q.limit ?? 100;
    const out: RunView[] = [];
    for (const { runId } of matches) {
      if (out.length >= limit) break;
      const view = await this.getRun(runId);
      if (!q.status || view.status === q.status) out.push(view);
    }
    return out;
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
