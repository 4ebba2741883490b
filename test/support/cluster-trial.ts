/**
 * A node of a 3-node NATS cluster SIGKILLed under durable sleeps and a steady stream of tasks,
 * for test/cluster-faults.slow.spec.ts and bench/cluster.ts. One engine (R3 streams, all three
 * URLs) and one worker run in this process; each phase picks a node by its role, kills it while
 * sleeps are due over the next seconds, brings it back (at once or after `downMs`) and waits
 * for every run. It measures how late each sleep woke after its due time, the longest pause
 * between task bodies starting, and the counts of a FaultLedger.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { pino, type Logger } from 'pino';
import { Skein } from 'skein';
import { startEngine, type Engine } from 'skein/runtime';
import { names } from '../../runtime/protocol.js';
import { describeRun } from './history.js';
import { FaultLedger, longestGap, percentile, type FaultCounts } from './fault-ledger.js';
import { startNatsCluster } from './nats-cluster.js';
import type { NatsClusterHandle } from './nats-process.js';

export type NodeRole =
  | 'non-leader'
  | 'meta-leader'
  | 'timers-leader'
  | 'journal-leader'
  /** The node the engine's connection is on, and the one the worker's is on. */
  | 'engine-server'
  | 'worker-server';

export interface PhaseResult {
  role: NodeRole;
  node: number;
  downMs: number;
  sleeps: number;
  /** Lateness of the sleeps (ms after their due time). */
  latenessP99: number;
  latenessMax: number;
  /** Longest gap between task bodies starting, from one second before the kill to the end. */
  dispatchPauseMs: number;
  counts: FaultCounts;
  /** The streams and consumers (`stream/consumer`) the killed node led when it was killed. */
  ledByKilled: string[];
  /** The latest sleeps' and the lost runs' histories, times in ms after the kill (describeRun). */
  latest: string[];
  lost: string[];
  /** The engine's warnings and part changes from the kill on (ms after it), repeats counted. */
  engineLog: string[];
}

export interface ClusterRig {
  cluster: NatsClusterHandle;
  engine: Engine;
  skein: Skein;
  phase(role: NodeRole, opts?: { downMs?: number; sleeps?: number }): Promise<PhaseResult>;
  stop(): Promise<void>;
}

const TICK_MS = 200;
/** Sleeps are due between these times after the kill. */
const DUE_FROM_MS = 1_000;
const DUE_SPREAD_MS = 5_000;

export async function startClusterRig(logger: Logger, namespace = 'cluster'): Promise<ClusterRig> {
  const cluster = await startNatsCluster(3);
  const engineLog = new EngineLog(logger);
  const engineId = `cluster-engine-${namespace}`;
  const engine = await startEngine({
    natsUrl: cluster.urls,
    namespace,
    replicas: 3,
    logger: engineLog.logger,
    id: engineId,
  });
  const skein = Skein.init({ natsUrl: cluster.urls, namespace, logger });
  let ledger = new FaultLedger();
  let lateness: { runId: string; late: number }[] = [];
  let bodyStarts: number[] = [];
  const sleeper = skein.durableTask<{ until: number }>({
    name: 'sleeper',
    executionTimeout: '5m',
    scheduleTimeout: '10m',
    fn: async (input, ctx) => {
      const l = ledger;
      l.executed(ctx.runId);
      await ctx.memo(async () => l.memoed(`${ctx.runId}:before`));
      await ctx.sleepUntil(new Date(input.until));
      const late = Date.now() - input.until;
      await ctx.memo(async () => {
        l.memoed(`${ctx.runId}:after`);
        lateness.push({ runId: ctx.runId, late });
      });
      return 'awake';
    },
  });
  const ticker = skein.task<void>({
    name: 'tick',
    executionTimeout: '5m',
    scheduleTimeout: '10m',
    fn: async (_input, ctx) => {
      ledger.executed(ctx.runId);
      bodyStarts.push(Date.now());
      return 'tick';
    },
  });
  const worker = await skein.worker('cluster-worker', {
    workflows: [sleeper, ticker],
    slots: 50,
    durableSlots: 500,
  });
  await worker.start();

  async function nodeOf(role: NodeRole): Promise<number> {
    const nc = await connect({ servers: cluster.urls });
    try {
      const jsm = await jetstreamManager(nc);
      const n = names(namespace);
      const leaderOf = async (stream: string) =>
        indexOfName((await jsm.streams.info(stream)).cluster?.leader);
      const timers = await leaderOf(n.streams.timers);
      const journal = await leaderOf(n.streams.journal);
      const meta = metaLeader(cluster);
      if (role === 'timers-leader') return timers;
      if (role === 'journal-leader') return journal;
      if (role === 'meta-leader') return meta;
      if (role === 'engine-server') return serving(engineId);
      if (role === 'worker-server') return serving('skein-client');
      const others = [0, 1, 2].filter((i) => i !== meta);
      return others.find((i) => i !== timers && i !== journal) ?? others[0];
    } finally {
      await nc.close();
    }
  }

  /** The node a connection named `name` is on (its /connz). */
  async function serving(name: string): Promise<number> {
    for (const [i, url] of cluster.monitorUrls.entries()) {
      const connz = (await (await fetch(`${url}/connz?limit=1024`)).json()) as {
        connections?: { name?: string }[];
      };
      if (connz.connections?.some((c) => c.name === name)) return i;
    }
    throw new Error(`no server holds a connection named ${name}`);
  }

  /** What node `node` leads: streams by name, consumers as `stream/consumer`. */
  async function ledBy(node: number): Promise<string[]> {
    const nc = await connect({ servers: cluster.urls });
    try {
      const jsm = await jetstreamManager(nc);
      const led: string[] = [];
      for await (const stream of jsm.streams.list()) {
        const name = stream.config.name;
        if (indexOfName(stream.cluster?.leader) === node) led.push(name);
        for await (const consumer of jsm.consumers.list(name)) {
          if (consumer.cluster?.leader && indexOfName(consumer.cluster.leader) === node) {
            led.push(`${name}/${consumer.name}`);
          }
        }
      }
      return led;
    } finally {
      await nc.close();
    }
  }

  return {
    cluster,
    engine,
    skein,
    async phase(role, opts = {}) {
      const downMs = opts.downMs ?? 0;
      const sleeps = opts.sleeps ?? 100;
      ledger = new FaultLedger();
      lateness = [];
      bodyStarts = [];
      const node = await nodeOf(role);
      let ticking = true;
      const ticks = (async () => {
        while (ticking) {
          const ref = await ticker.runNoWait().catch(() => undefined); // a trigger may fail mid-election
          if (ref) ledger.trigger(ref);
          await new Promise((r) => setTimeout(r, TICK_MS));
        }
      })();
      const killAt = Date.now() + 3_000;
      const sleepRefs = await sleeper.runManyNoWait(
        Array.from({ length: sleeps }, (_, i) => ({
          input: { until: killAt + DUE_FROM_MS + Math.floor((i * DUE_SPREAD_MS) / sleeps) },
        })),
      );
      ledger.trigger(...sleepRefs);
      await new Promise((r) => setTimeout(r, Math.max(0, killAt - Date.now())));
      const ledByKilled = await ledBy(node).catch((err: Error) => [`unknown: ${err.message}`]);
      await cluster.servers[node].kill('SIGKILL');
      engineLog.from(Date.now());
      logger.info({ role, node: node + 1 }, 'cluster trial: node killed');
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      await cluster.servers[node].restart();
      logger.info({ role, node: node + 1 }, 'cluster trial: node restarted');
      const lastDue = killAt + DUE_FROM_MS + DUE_SPREAD_MS;
      await new Promise((r) => setTimeout(r, Math.max(0, lastDue - Date.now()) + 2_000));
      ticking = false;
      await ticks;
      // Every run must finish; a lost one shows as `lost` (the wait is bounded). A body may run
      // once more than its attempt: a worker's dispatch can be lost with the node it went through.
      const counts = await ledger.settle(2, 120_000);
      const latestRuns = [...lateness].sort((a, b) => b.late - a.late).slice(0, 3);
      const latest = await Promise.all(
        latestRuns.map(({ runId }) => describeRun(skein, runId, killAt)),
      );
      const lost = await Promise.all(
        ledger.lostRunIds.slice(0, 3).map((runId) => describeRun(skein, runId, killAt)),
      );
      const late = lateness.map((l) => l.late);
      return {
        role,
        node,
        downMs,
        sleeps,
        latenessP99: percentile(late, 99),
        latenessMax: Math.max(0, ...late),
        dispatchPauseMs: longestGap(
          bodyStarts.filter((t) => t >= killAt - 1_000),
          killAt - 1_000,
        ),
        counts,
        ledByKilled,
        latest,
        lost,
        engineLog: engineLog.summary(),
      };
    },
    async stop() {
      await skein.close();
      await engine.stop();
      await cluster.stop();
    },
  };
}

/** Lines an engine logs that tell what its parts did. */
const PART_CHANGES = new Set([
  'restarted',
  'pulling again',
  'reconnected to NATS',
  'consumer moved to another server',
  'leases changed',
]);

/**
 * The engine's log, kept for a failing phase's message (CI shows no log): its warnings and
 * part changes from a given time on. Also written to `also` (the test logger, silent unless
 * SKEIN_TEST_LOG is set).
 */
class EngineLog {
  private lines: { at: number; text: string }[] = [];
  private since = Infinity;
  readonly logger: Logger;

  constructor(also: Logger) {
    const keep = (line: string) => {
      const entry = JSON.parse(line) as {
        time: number;
        level: number;
        msg: string;
        part?: string;
        err?: { message?: string };
      };
      if (entry.time < this.since || (entry.level < 40 && !PART_CHANGES.has(entry.msg))) return;
      const what = [entry.msg, entry.part, entry.err?.message?.slice(0, 80)].filter(Boolean);
      this.lines.push({ at: entry.time - this.since, text: what.join(' ') });
    };
    this.logger = pino(
      { level: 'info' },
      pino.multistream([
        { level: 'info', stream: { write: keep } },
        { level: 'info', stream: { write: (line: string) => also.info(JSON.parse(line)) } },
      ]),
    );
  }

  from(at: number) {
    this.since = at;
    this.lines = [];
  }

  /** One line per message in order of first sight: its first time, and how often it came. */
  summary(): string[] {
    const seen = new Map<string, { at: number; count: number }>();
    for (const { at, text } of this.lines) {
      const s = seen.get(text);
      if (s) s.count++;
      else seen.set(text, { at, count: 1 });
    }
    return [...seen]
      .slice(0, 60)
      .map(([text, s]) => `${s.at} ${text}${s.count > 1 ? ` (x${s.count})` : ''}`);
  }
}

function indexOfName(name: string | undefined): number {
  const m = /-n(\d+)$/.exec(name ?? '');
  if (!m) throw new Error(`not a test cluster node: ${name}`);
  return Number(m[1]) - 1;
}

/** The meta leader, from the servers' logs: the newest line naming it. */
function metaLeader(cluster: NatsClusterHandle): number {
  let best: { at: string; node: number } | undefined;
  cluster.servers.forEach((server, i) => {
    for (const line of server.logs().split('\n')) {
      const self = /Self is new JetStream cluster metadata leader/.test(line);
      const other = /JetStream cluster new metadata leader: ([^/\s]+)/.exec(line);
      if (!self && !other) continue;
      const at = line.slice(0, 40); // "[pid] 2026/12/02 18:52:42.123456 [INF]" sorts by time
      const node = self ? i : indexOfName(other![1]);
      const stamp = /\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d+/.exec(at)?.[0] ?? '';
      if (!best || stamp >= best.at) best = { at: stamp, node };
    }
  });
  if (!best) throw new Error('no meta leader in the servers logs');
  return best.node;
}
