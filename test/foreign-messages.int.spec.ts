/**
 * Anyone on the NATS account can publish on the engine's subjects. Malformed messages are
 * dropped with a logged reason (or refused, for a request), and the engine keeps serving.
 */
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decode, encode } from '../runtime/codec.js';
import { names } from '../runtime/protocol.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';
import { SOON } from './support/patience.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

describe('foreign publishers', () => {
  it('drop malformed messages with a reason and keep the engine serving', async () => {
    const lines: { msg: string; reason?: string }[] = [];
    const logger = pino(
      { level: 'warn' },
      { write: (line: string) => void lines.push(JSON.parse(line)) },
    );
    const { skein, namespace } = await env.client({ engine: { logger } });
    const task = skein.task({ name: 'still-works', fn: (n: number) => n + 1 });
    await (await skein.worker('w', { workflows: [task] })).start();
    expect(await task.run(1)).toBe(2);

    const n = names(namespace);
    const nc = await connect({ servers: env.url });
    const js = jetstream(nc);
    const garbage = new TextEncoder().encode('{not msgpack');
    await js.publish(n.inboxSubject('run', 'r-foreign'), garbage);
    await js.publish(n.inboxSubject('run', 'r-foreign2'), encode({ type: 'Trigger', id: 'x' })); // fails the schema
    await js.publish(n.inboxSubject('nosuchactor', 'a1'), encode({ type: 'Hello', id: 'y' }));
    await js.publish(n.timerSubject, garbage);
    await js.publish(n.journalSubject('run', 'r-foreign3'), garbage);
    const kv = await new Kvm(nc).open(n.buckets.workers);
    await kv.put(n.workerKey('intruder'), garbage);
    nc.publish(n.workerDispatch('intruder'), garbage);
    nc.publish(n.schedulerRejected, garbage);
    const refused = decode<{ ok: boolean; invalid?: boolean; error: string }[]>(
      (
        await nc.request(
          n.directPartition(0),
          encode([{ type: 'run', id: 'r', message: { type: 'Nope' } }]),
        )
      ).data,
    );
    expect(refused[0]).toMatchObject({ ok: false, invalid: true });

    await vi.waitFor(() => {
      const dropped = lines.filter((l) => /malformed|bad message|refused/.test(l.msg));
      expect(dropped.length).toBeGreaterThanOrEqual(5);
      expect(dropped.every((l) => typeof l.reason === 'string' && l.reason.length > 0)).toBe(true);
    }, SOON);
    expect(await task.run(41)).toBe(42);
    await nc.close();
  });
});
