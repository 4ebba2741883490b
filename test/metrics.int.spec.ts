/**
 * `GET /metrics`: after known work (runs completed, failed after a retry, timed out, cancelled,
 * one task nobody serves, a malformed message) the engine's Prometheus text holds exactly those counts.
 */
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RunCancelledError, RunFailedError } from 'skein';
import { startEngine } from 'skein/runtime';
import { names } from '../runtime/protocol.js';
import { getFreePort } from './support/nats-server.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';
import { SOON } from './support/patience.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

/** Each sample of a Prometheus text exposition, by `name{labels}` as written. */
async function scrape(port: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

describe('GET /metrics', () => {
  it('counts runs, attempts, the queue, slots, timers and rejections of known work', async () => {
    const port = await getFreePort();
    const { skein, namespace } = await env.client({ engine: { http: { port } } });
    const ok = skein.task({ name: 'ok', fn: (n: number) => n * 2 });
    const flaky = skein.task({
      name: 'flaky',
      retries: 1,
      backoff: { factor: 1, maxSeconds: 0.1 }, // the retry waits on a durable timer
      fn: () => {
        throw new Error('always');
      },
    });
    const hang = skein.task({
      name: 'hang',
      fn: (_: null, ctx) =>
        new Promise((_resolve, reject) =>
          ctx.signal.addEventListener('abort', () => reject(new Error('cancelled'))),
        ),
    });
    const slow = skein.task({
      name: 'slow',
      executionTimeout: '200ms',
      fn: (_: null, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', resolve)),
    });
    const orphan = skein.task({ name: 'orphan', fn: () => null }); // no worker serves it
    const worker = await skein.worker('metrics-w', {
      workflows: [ok, flaky, hang, slow],
      slots: 5,
    });
    await worker.start();

    expect(await Promise.all([1, 2, 3].map((n) => ok.run(n)))).toEqual([2, 4, 6]);
    await expect(flaky.run(null)).rejects.toBeInstanceOf(RunFailedError);
    await expect(slow.run(null)).rejects.toBeInstanceOf(RunFailedError);
    const hanging = await hang.runNoWait(null);
    await vi.waitFor(
      async () => expect((await skein.runs.get(hanging.runId)).status).toBe('RUNNING'),
      SOON,
    );
    await skein.runs.cancel(hanging.runId);
    await expect(hanging.result()).rejects.toBeInstanceOf(RunCancelledError);
    await orphan.runNoWait(null);
    const nc = await connect({ servers: env.url });
    await jetstream(nc).publish(
      names(namespace).inboxSubject('run', 'r-garbage'),
      new TextEncoder().encode('{not msgpack'),
    );
    await nc.close();

    await vi.waitFor(async () => {
      const m = await scrape(port);
      expect(m.get('skein_runs_created_total{name="ok"}')).toBe(3);
      expect(m.get('skein_runs_created_total{name="flaky"}')).toBe(1);
      expect(m.get('skein_runs_created_total{name="hang"}')).toBe(1);
      expect(m.get('skein_runs_created_total{name="orphan"}')).toBe(1);
      expect(m.get('skein_messages_rejected_total{reason="inbox-malformed"}')).toBe(1);
      expect(m.get('skein_tasks_queued{name="orphan"}')).toBe(1);
      // The cancelled attempt's slot is given back once the worker says so.
      expect(
        [...m]
          .filter(([k]) => k.startsWith('skein_worker_slots{'))
          .map(([k, v]) => [k.replace(/worker="[^"]+"/, 'worker="w"'), v]),
      ).toEqual([
        ['skein_worker_slots{worker="w",state="busy"}', 0],
        ['skein_worker_slots{worker="w",state="free"}', 5],
        ['skein_worker_slots{worker="w",state="durable_busy"}', 0],
        ['skein_worker_slots{worker="w",state="durable_free"}', expect.any(Number)],
      ]);
    }, SOON);

    const m = await scrape(port);
    const finished = (name: string, status: string) =>
      m.get(`skein_runs_finished_total{name="${name}",status="${status}"}`);
    expect([
      finished('ok', 'COMPLETED'),
      finished('ok', 'FAILED'),
      finished('flaky', 'FAILED'),
      finished('hang', 'CANCELLED'),
      finished('slow', 'FAILED'),
    ]).toEqual([3, 0, 1, 1, 1]);
    const attempts = (workflow: string, outcome: string) =>
      m.get(
        `skein_task_attempts_total{workflow="${workflow}",task="${workflow}",outcome="${outcome}"}`,
      );
    expect([
      attempts('ok', 'succeeded'),
      attempts('flaky', 'failed'),
      attempts('flaky', 'succeeded'),
      attempts('hang', 'cancelled'),
      attempts('hang', 'lost'),
      attempts('slow', 'timed_out'),
      attempts('slow', 'failed'),
    ]).toEqual([3, 2, 0, 1, 0, 1, 0]);
    expect(m.get('skein_task_duration_seconds_count{name="ok"}')).toBe(3);
    expect(m.get('skein_task_duration_seconds_count{name="flaky"}')).toBe(2);
    expect(m.get('skein_run_duration_seconds_count{name="ok",status="COMPLETED"}')).toBe(3);
    expect(m.get('skein_run_duration_seconds_count{name="hang",status="CANCELLED"}')).toBe(1);
    expect(m.get('skein_run_duration_seconds_bucket{le="+Inf",name="ok",status="COMPLETED"}')).toBe(
      3,
    );
    expect(m.get('skein_schedule_to_start_seconds_count{name="ok"}')).toBe(3);
    expect(m.get('skein_schedule_to_start_seconds_count{name="flaky"}')).toBe(2);
    expect(m.get('skein_schedule_to_start_seconds_count{name="orphan"}')).toBeUndefined();
    expect(m.get('skein_timer_lateness_seconds_count')).toBe(1);
    expect(m.get('skein_queue_oldest_seconds{name="orphan"}')).toBeGreaterThan(0);
    // Each result turn is an append; so are the cancel's turn and the failed retry's.
    expect(m.get('skein_journal_append_seconds_count')).toBeGreaterThanOrEqual(8);

    await skein.events.push('nobody:listens', {});
    await vi.waitFor(async () => {
      const lag = (await scrape(port)).get('skein_event_router_lag_seconds');
      expect(lag).toBeGreaterThan(0);
      expect(lag).toBeLessThan(60);
    }, SOON);

    // A worker that left drops out of the slots gauge.
    await worker.stop();
    await vi.waitFor(async () => {
      const slots = [...(await scrape(port)).keys()].filter((k) =>
        k.startsWith('skein_worker_slots'),
      );
      expect(slots).toEqual([]);
    }, SOON);
  });

  it('counts each run once across engines: finishes where recorded, creations on the leader', async () => {
    const [portA, portB] = [await getFreePort(), await getFreePort()];
    const {
      skein,
      engine,
      startEngine: another,
    } = await env.client({
      engine: { http: { port: portA } },
    });
    const engineB = await another({ http: { port: portB } });
    // Both serve partitions: the runs below land on both.
    await vi.waitFor(() => {
      expect(engine.partitions().length).toBeGreaterThan(0);
      expect(engineB.partitions().length).toBeGreaterThan(0);
    }, SOON);
    const ok = skein.task({ name: 'ok', fn: (n: number) => n });
    await (await skein.worker('w', { workflows: [ok] })).start();
    await Promise.all(Array.from({ length: 20 }, (_, n) => ok.run(n)));

    const sum = async (key: string) => {
      const [a, b] = await Promise.all([scrape(portA), scrape(portB)]);
      return { a: a.get(key) ?? 0, b: b.get(key) ?? 0 };
    };
    const finished = await sum('skein_runs_finished_total{name="ok",status="COMPLETED"}');
    expect(finished.a + finished.b).toBe(20);
    // Each engine recorded some of them (20 random run ids over both engines' partitions).
    expect(Math.min(finished.a, finished.b)).toBeGreaterThan(0);
    const succeeded = await sum(
      'skein_task_attempts_total{workflow="ok",task="ok",outcome="succeeded"}',
    );
    expect(succeeded.a + succeeded.b).toBe(20);
    await vi.waitFor(async () => {
      const created = await sum('skein_runs_created_total{name="ok"}');
      expect(engine.isLeader() ? created : { a: created.b, b: created.a }).toEqual({ a: 20, b: 0 });
    }, SOON);
  });

  it('is off with metrics: false (404), and the option is checked', async () => {
    const port = await getFreePort();
    await env.client({ engine: { http: { port }, metrics: false } });
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    await expect(
      startEngine({ natsUrl: env.url, metrics: 'yes' as unknown as boolean }),
    ).rejects.toThrow(/metrics must be true or false/);
  });
});
