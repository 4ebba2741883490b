/**
 * A counter's series as plain numbers: the hot path adds to a cell it resolved once (no label
 * hashing per message, as prom-client's own children do), and a scrape hands the totals to
 * the prom-client counter that defines the metric.
 */
import type { Counter } from 'prom-client';

export interface Cell {
  value: number;
}

export class CounterCells<L extends string> {
  private readonly series: { labels: Record<L, string>; cell: Cell }[] = [];

  constructor(private readonly counter: Counter<L>) {}

  /** A new series; the caller keeps its cell and adds to it. */
  cell(labels: Record<L, string>): Cell {
    const cell = { value: 0 };
    this.series.push({ labels, cell });
    return cell;
  }

  /** Before a scrape: the counter shows the cells' totals. */
  flush() {
    this.counter.reset();
    for (const { labels, cell } of this.series) this.counter.inc(labels, cell.value);
  }
}
