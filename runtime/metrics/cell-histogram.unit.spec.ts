import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CellHistogram } from './cell-histogram.js';

describe('CellHistogram', () => {
  it("prints what prom-client's own histogram prints for the same observations", async () => {
    const buckets = [0.01, 0.1, 1];
    const values = [0.005, 0.01, 0.05, 0.5, 2, 0.1];
    const theirs = new Registry();
    const ours = new Registry();
    const reference = new Histogram({
      name: 'x_seconds',
      help: 'h',
      labelNames: ['name', 'status'],
      buckets,
      registers: [theirs],
    });
    const cell = new CellHistogram<'name' | 'status'>(ours, 'x_seconds', 'h', buckets);
    for (const [name, status] of [
      ['a', 'OK'],
      ['b "q"', 'FAILED'],
    ]) {
      const series = cell.labels({ name, status });
      for (const v of values) {
        reference.observe({ name, status }, v);
        series.observe(v);
      }
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });
});
