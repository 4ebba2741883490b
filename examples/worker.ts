/**
 * A worker serving the hello and retry examples until SIGINT/SIGTERM.
 *
 *   SKEIN_NATS_URL=nats://127.0.0.1:4222 node --import tsx examples/worker.ts
 *
 * An engine must serve the namespace (SKEIN_NAMESPACE, default 'skein'): `npx skein engine`.
 */
import { pino } from 'pino';
import { Skein } from 'skein';
import { helloExample } from './hello.js';
import { retryExample } from './retry.js';

const logger = pino({ level: process.env.SKEIN_LOG_LEVEL ?? 'info' });
const skein = Skein.init({ logger });
const { greet } = helloExample(skein);
const { flaky } = retryExample(skein);

const worker = await skein.worker(process.env.SKEIN_WORKER_NAME ?? 'example-worker', {
  workflows: [greet, flaky],
});
await worker.start();
logger.info(
  { workerId: worker.id, namespace: skein.namespace },
  'worker started: serving greet, flaky',
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1); // a second signal: give up waiting
    stopping = true;
    logger.info({ signal }, 'stopping worker');
    // close() stops the worker (running tasks finish or are handed back), then drains.
    skein.close().then(
      () => logger.info('worker stopped'),
      (err: unknown) => {
        logger.error({ err }, 'worker did not stop cleanly');
        process.exitCode = 1;
      },
    );
  });
}
