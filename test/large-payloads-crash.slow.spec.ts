/**
 * nats-server SIGKILLed while large inputs and event payloads are being uploaded, then
 * restarted on its store: every trigger and push that resolved before the kill is complete
 * (its run reads its whole input and completes), and no run refers to an object that was
 * not stored in full.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RunRef } from 'skein';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv | undefined;
afterEach(async () => {
  await env?.stop();
  env = undefined;
});

const MB = 1024 * 1024;
const TRIGGERS = 12;
const PUSHES = 6;
const blob = (bytes: number, seed: string) =>
  `${seed}:0123456789abcdef`.repeat(bytes / 16 + 1).slice(0, bytes);

describe('nats-server killed during large uploads', () => {
  it('keeps every acknowledged run and event whole', async () => {
    env = await startSkeinEnv();
    const { skein } = await env.client();
    const measure = skein.task({
      name: 'measure',
      scheduleTimeout: '5m',
      onEvents: ['big:*'],
      fn: (input: string) => ({ length: input.length, head: input.slice(0, 6) }),
    });
    await (await skein.worker('w', { workflows: [measure], slots: 20 })).start();

    const triggered: { ref: RunRef<{ length: number; head: string }>; input: string }[] = [];
    const pushed: { eventId: string; payload: string }[] = [];
    let acknowledged = 0;
    // Started one after another, so that at the kill some are stored and others half-sent.
    const uploads: Promise<void>[] = [];
    let stopStarting = false;
    const starting = (async () => {
      for (let i = 0; i < TRIGGERS + PUSHES && !stopStarting; i++) {
        const seed = `u${String(i).padStart(3, '0')}`;
        const data = blob(6 * MB, seed);
        const upload =
          i % 3 === 2
            ? skein.events.push(`big:${i}`, data).then(({ eventId }) => {
                pushed.push({ eventId, payload: data });
              })
            : measure.runNoWait(data).then((ref) => {
                triggered.push({ ref, input: data });
              });
        uploads.push(upload.then(() => void acknowledged++).catch(() => undefined));
        await new Promise((r) => setTimeout(r, 150));
      }
    })();

    await vi.waitFor(() => expect(acknowledged).toBeGreaterThanOrEqual(3), {
      timeout: 60_000,
      interval: 5,
    });
    const atKill = acknowledged;
    const started = uploads.length;
    await env.nats.kill('SIGKILL');
    stopStarting = true;
    await env.nats.restart();
    await starting;
    await Promise.all(uploads);
    // The kill came while uploads were under way.
    expect(atKill).toBeLessThan(started);

    for (const { ref, input } of triggered) {
      expect(await ref.result()).toEqual({ length: 6 * MB, head: input.slice(0, 6) });
      expect((await skein.runs.get(ref.runId)).input === input).toBe(true);
    }
    for (const { eventId, payload } of pushed) {
      await vi.waitFor(
        async () => {
          const [run] = await skein.runs.list({
            additionalMetadata: { skein__event_id: eventId },
          });
          expect(run?.status).toBe('COMPLETED');
          expect(run.output).toEqual({ length: 6 * MB, head: payload.slice(0, 6) });
        },
        { timeout: 60_000, interval: 200 },
      );
    }
    // Every run there is reads its whole input: none refers to an object cut short by the kill.
    const runs = await skein.runs.list({ limit: 1000 });
    expect(runs.length).toBeGreaterThanOrEqual(triggered.length + pushed.length);
    for (const run of runs) expect((run.input as string).length).toBe(6 * MB);
  }, 180_000);
});
