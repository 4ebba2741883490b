/**
 * The flood, at its size: 200,000 malformed messages on the engine's and a worker's
 * subjects (half of them stored by JetStream) while runs go on. Every one is counted, the
 * log gets a handful of lines instead of 200,000, and the runs complete.
 */
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { Skein } from 'skein';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mulberry32 } from '../actors/testing/random.js';
import { encode } from '../runtime/codec.js';
import { names } from '../runtime/protocol.js';
import { rejectionCounts } from '../runtime/rejections.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';
import { getFreePort } from './support/nats-process.js';

const FLOOD = 200_000;

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

describe('a flood of malformed messages', () => {
  it('is counted, logs a few lines, and the runs go on', async () => {
    const engineLines: string[] = [];
    const workerLines: string[] = [];
    const engineLogger = pino(
      { level: 'warn' },
      { write: (l: string) => void engineLines.push(l) },
    );
    const workerLogger = pino(
      { level: 'warn' },
      { write: (l: string) => void workerLines.push(l) },
    );
    const port = await getFreePort();
    const { namespace } = await env.client({ engine: { logger: engineLogger, http: { port } } });
    const skein = Skein.init({ natsUrl: env.url, namespace, logger: workerLogger });
    const nc = await connect({ servers: env.url });
    try {
      const inc = skein.task({ name: 'inc', fn: (x: number) => x + 1 });
      const worker = await skein.worker('flooded', { workflows: [inc], slots: 20 });
      await worker.start();
      const n = names(namespace);
      const next = mulberry32(11);
      const subjects = [
        n.schedulerRejected,
        n.directPartition(0),
        n.workerDispatch(worker.id),
        n.workerCancel(worker.id),
        n.timerSubject, // stored
        n.eventSubject('flood'), // stored
        n.inboxSubject('run', 'flood'), // stored
        n.journalSubject('run', 'flood'), // stored
      ];
      const started = Date.now();
      const runs: Promise<number>[] = [];
      for (let i = 0; i < FLOOD; i++) {
        const data = Uint8Array.from({ length: 8 + (i % 24) }, () => Math.floor(next() * 256));
        nc.publish(subjects[i % subjects.length], i % 3 === 0 ? encode({ type: i }) : data);
        if (i % 5000 === 0) {
          runs.push(inc.run(i));
          await nc.flush();
        }
      }
      await nc.flush();
      expect(await Promise.all(runs)).toEqual(runs.map((_, k) => k * 5000 + 1));
      // Everything stored is read and refused; the core messages were refused as they came.
      await vi.waitFor(
        async () => {
          const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as {
            rejectedMessages: Record<string, number>;
          };
          const counts = status.rejectedMessages;
          expect(counts['timer-malformed']).toBe(FLOOD / subjects.length);
          expect(counts['event-malformed']).toBe(FLOOD / subjects.length);
          expect(counts['inbox-malformed']).toBe(FLOOD / subjects.length);
        },
        { timeout: 240_000, interval: 1000 },
      );
      const workerCounts = rejectionCounts(workerLogger);
      expect(
        (workerCounts['dispatch-malformed'] ?? 0) + (workerCounts['cancel-malformed'] ?? 0),
      ).toBeGreaterThanOrEqual(FLOOD / subjects.length);
      expect(await inc.run(1)).toBe(2);
      const seconds = (Date.now() - started) / 1000;
      console.log(
        `${FLOOD} malformed messages in ${seconds.toFixed(1)} s: ${engineLines.length} engine and ${workerLines.length} worker log lines`,
      );
      expect(engineLines.length).toBeLessThan(100);
      expect(workerLines.length).toBeLessThan(50);
    } finally {
      await nc.close();
      await skein.close();
    }
  }, 300_000);
});
