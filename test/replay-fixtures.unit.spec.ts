/**
 * Recorded durable-task histories (test/fixtures/histories, recorded by
 * replay-history.int.spec.ts) replayed offline against today's example code: a change to
 * examples/durable.ts that would break runs in flight fails here, without NATS.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { replayHistory, Skein, type RunEventRecord } from 'skein';
import { durableExamples } from '../examples/durable.js';

const dir = new URL('./fixtures/histories/', import.meta.url);
const load = (file: string): RunEventRecord[] =>
  (JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as RunEventRecord[]).map((e) => ({
    ...e,
    at: new Date(e.at),
  }));

// Declarations only: replaying needs no connection.
const examples = durableExamples(Skein.init({ natsUrl: 'nats://127.0.0.1:1' }));
const byName = new Map(Object.values(examples).map((d) => [d.name, d]));

describe('recorded histories replay against the current code', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    it(file, async () => {
      const history = load(file);
      const name = (history[0].data.spec as { name: string }).name;
      const declaration = byName.get(name);
      expect(declaration, `no example declares '${name}'`).toBeDefined();
      const report = await replayHistory(declaration!, history);
      expect(report.error).toBeUndefined();
      expect(report).toMatchObject({ ok: true, outcome: 'completed' });
      expect(report.output).toEqual(history.find((e) => e.type === 'RunCompleted')?.data.output);
    });
  }
});

describe('a history this SDK cannot read', () => {
  it('is refused, naming the event', async () => {
    const history = load('expense-escalated.json');
    const name = (history[0].data.spec as { name: string }).name;
    const unknown = { seq: history.length + 1, type: 'RunTeleported', at: new Date(), data: {} };
    await expect(replayHistory(byName.get(name)!, [...history, unknown])).rejects.toThrow(
      new RegExp(`event ${unknown.seq} of the history \\(RunTeleported\\)`),
    );
  });
});
