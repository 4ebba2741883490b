/**
 * The router's consumer deleted behind the engine is made again after the router's stored
 * progress: an event whose runs were deleted by retention does not start them again, and an
 * event pushed while the consumer was missing is still routed.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { NotFoundError } from 'skein';
import { eventRunId } from '../runtime/ids.js';
import { names } from '../runtime/protocol.js';
import { readRouterProgress } from '../runtime/router-progress.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';
import { SOON } from './support/patience.js';

let env: SkeinEnv;
let nc: NatsConnection;
beforeAll(async () => {
  env = await startSkeinEnv();
  nc = await connect({ servers: env.url, noAsyncTraces: true });
});
afterAll(async () => {
  await nc.close();
  await env.stop();
});

describe('router progress', () => {
  it('a router consumer made again does not start again the runs of events already routed', async () => {
    const { skein, namespace } = await env.client({ engine: { sweepEveryMs: 200 } });
    const n = names(namespace);
    const jsm = await jetstreamManager(nc);
    const executions = new Map<string, number>();
    const task = skein.task({
      name: 'on-order',
      retention: '1s',
      onEvents: ['order:placed'],
      fn: (_input: unknown, ctx) => {
        const id = ctx.additionalMetadata.skein__event_id!;
        executions.set(id, (executions.get(id) ?? 0) + 1);
        return 'done';
      },
    });
    await (await skein.worker('w', { workflows: [task] })).start();

    const { eventId: first } = await skein.events.push('order:placed', { n: 1 });
    const firstRun = eventRunId(first, 'on-order');
    await vi.waitFor(() => expect(executions.get(first)).toBe(1), SOON);
    // Its run finished and was deleted by retention, and the router stored its progress.
    await vi.waitFor(
      async () => expect((await skein.runs.page({ name: 'on-order' })).runs).toEqual([]),
      SOON,
    );
    const lastSeq = (await jsm.streams.info(n.streams.events)).state.last_seq;
    await vi.waitFor(
      async () => expect((await readRouterProgress(jsm, n))?.seq).toBe(lastSeq),
      SOON,
    );

    await jsm.consumers.delete(n.streams.events, 'router');
    const { eventId: second } = await skein.events.push('order:placed', { n: 2 });
    await vi.waitFor(() => expect(executions.get(second)).toBe(1), SOON);
    // The consumer delivers in stream order: the first event, were it routed again, would
    // have started its run by the time the second's finished.
    await vi.waitFor(
      async () =>
        expect((await jsm.consumers.info(n.streams.events, 'router')).num_pending).toBe(0),
      SOON,
    );
    expect(executions.get(first)).toBe(1);
    await expect(skein.runs.get(firstRun)).rejects.toBeInstanceOf(NotFoundError);
    expect((await skein.runs.page({ name: 'on-order' })).runs.map((r) => r.id)).not.toContain(
      firstRun,
    );
    expect(executions.get(second)).toBe(1);
  }, 60_000);
});
