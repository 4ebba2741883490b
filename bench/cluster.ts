/**
 * `npm run bench:cluster`: a node of a 3-node NATS cluster (three nats-server processes on
 * loopback, R3 streams; one engine and one worker in this process, on all three URLs) is
 * SIGKILLed and restarted while durable sleeps fall due over the next 1–6 s and a task is
 * triggered every 200 ms. Each role in turn: a non-leader node, the meta leader, the leader
 * of the timers stream, of the journal stream; then a non-leader down for 30 s. Per trial:
 * sleeps' lateness after their due time (p99, max), the longest pause between task bodies
 * starting (from 1 s before the kill), and the counts (lost, over-executed, durable calls
 * repeated). Targets (issue 11): p99 lateness ≤ 5 s, dispatch pause ≤ 10 s, nothing lost.
 * Knobs: BENCH_CLUSTER_TRIALS [2] per role, BENCH_CLUSTER_SLEEPS [100] per trial.
 */
import { pino } from 'pino';
import { startClusterRig, type NodeRole } from '../test/support/cluster-trial.js';
import { loadAverage } from './cpu.js';
import { envInt, fmt, say } from './util.js';

const TRIALS = envInt('BENCH_CLUSTER_TRIALS', 2);
const SLEEPS = envInt('BENCH_CLUSTER_SLEEPS', 100);
const ROLES: NodeRole[] = ['non-leader', 'meta-leader', 'timers-leader', 'journal-leader'];

const logger = pino({ level: process.env.SKEIN_BENCH_LOG ?? 'silent' });
const rig = await startClusterRig(logger, `bench${Date.now().toString(36)}`);
say(`bench:cluster — 3 nodes, R3, ${SLEEPS} sleeps per trial, ${TRIALS} trials per role`);
say(
  '| node killed | down | sleeps | lateness p99 | max | dispatch pause | lost | over-executed | durable calls repeated |',
);
say('|---|---|---|---|---|---|---|---|---|');
try {
  const trials: { role: NodeRole; downMs: number }[] = [
    ...ROLES.flatMap((role) => Array.from({ length: TRIALS }, () => ({ role, downMs: 0 }))),
    { role: 'non-leader', downMs: 30_000 },
  ];
  for (const { role, downMs } of trials) {
    const r = await rig.phase(role, { sleeps: SLEEPS, downMs });
    const c = r.counts;
    say(
      `| ${role} (n${r.node + 1}) | ${downMs ? `${downMs / 1000} s` : 'restarted at once'} | ` +
        `${c.completed}/${c.triggered} runs | ${fmt(r.latenessP99)} ms | ${fmt(r.latenessMax)} ms | ` +
        `${fmt(r.dispatchPauseMs)} ms | ${c.lost} | ${c.overAllowed} | ${c.durableRepeated} |`,
    );
  }
  say(`load average: ${loadAverage()}`);
} finally {
  await rig.stop();
}
