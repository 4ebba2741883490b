import { describe, expect, it } from 'vitest';
import { dagSvg, layoutDag } from './run-dag.js';

describe('layoutDag', () => {
  it('puts each task in the column after its deepest parent', () => {
    const dag = layoutDag([
      { name: 'a', parents: [], status: 'COMPLETED' },
      { name: 'b', parents: ['a'], status: 'COMPLETED' },
      { name: 'c', parents: ['a'], status: 'RUNNING' },
      { name: 'd', parents: ['b', 'c', 'a'], status: 'PENDING' },
      { name: 'e', parents: [], status: 'QUEUED' },
    ]);
    const where = Object.fromEntries(dag.nodes.map((n) => [n.name, [n.column, n.row]]));
    expect(where).toEqual({ a: [0, 0], b: [1, 0], c: [1, 1], d: [2, 0], e: [0, 1] });
    expect(dag.edges).toHaveLength(5);
    expect([dag.columns, dag.rows]).toEqual([3, 2]);
  });

  it('leaves out parents the run does not show', () => {
    const dag = layoutDag([{ name: 'x', parents: ['gone'], status: 'QUEUED' }]);
    expect(dag.nodes[0]).toMatchObject({ column: 0, row: 0 });
    expect(dag.edges).toEqual([]);
  });
});

describe('dagSvg', () => {
  it('names each box by task and state, escaped', () => {
    const svg = dagSvg([{ name: '<b>', parents: [], status: 'FAILED' }]).text;
    expect(svg).toContain('aria-label="&lt;b&gt;: FAILED"');
    expect(svg).not.toContain('<b>');
  });
});
