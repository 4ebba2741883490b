/**
 * A scheduler whose engine stopped leading ignores whatever still reaches it. Its state is
 * frozen once its journal tail stops: acting on a late heartbeat (a workers-bucket watch made
 * during a partition came back after the stop) requeued and sent out again task runs whose
 * waits it never heard of, for ever (the partition test's livelock).
 */
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueue, heartbeat } from '../actors/scheduler/fixtures.js';
import { systemClock } from '../runtime/clock.js';
import { SchedulerHost } from '../runtime/scheduler-host.js';
import { ensureBuckets } from '../runtime/setup.js';
import { names } from '../runtime/subjects.js';
import { startNatsServer, type NatsServerHandle } from './support/nats-server.js';

let nats: NatsServerHandle;
let nc: NatsConnection;
beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

describe('a stopped scheduler', () => {
  it('takes no worker and no task run in, and so dispatches nothing', async () => {
    const n = names('stopped');
    const buckets = await ensureBuckets(nc, n);
    const host = new SchedulerHost({
      nc,
      js: jetstream(nc),
      workers: buckets.workers,
      names: n,
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      release: () => undefined,
    });
    await host.start();
    host.receive(heartbeat('w1', 1));
    expect(host.view().workers.has('w1')).toBe(true);
    await host.stop();

    host.receive(heartbeat('w2', 1));
    host.receive(enqueue('k1'));
    expect(host.view().workers.has('w2')).toBe(false);
    expect(host.view().entries.has('k1')).toBe(false);
  });
});
