/**
 * A run's tasks drawn as a graph, left to right: each task in the column after its deepest
 * parent, an arrow from each parent. Server-rendered SVG; each box is an image named
 * `<task>: <STATUS>` so the graph reads without sight too.
 */
import { html, type Html } from '../html.js';

export interface DagTask {
  name: string;
  parents: readonly string[];
  status: string;
}

export interface DagNode {
  name: string;
  status: string;
  column: number;
  row: number;
}

export interface DagLayout {
  nodes: DagNode[];
  edges: { from: string; to: string }[];
  columns: number;
  rows: number;
}

/** Columns by longest path from a root; rows in the order the tasks came. Unknown parents are left out. */
export function layoutDag(tasks: readonly DagTask[]): DagLayout {
  const byName = new Map(tasks.map((t) => [t.name, t]));
  const columnOf = new Map<string, number>();
  const column = (name: string, seen: Set<string>): number => {
    const known = columnOf.get(name);
    if (known !== undefined) return known;
    if (seen.has(name)) return 0; // a cycle cannot be declared; drawn flat if one came anyway
    seen.add(name);
    const parents = (byName.get(name)?.parents ?? []).filter((p) => byName.has(p));
    const c = parents.length === 0 ? 0 : 1 + Math.max(...parents.map((p) => column(p, seen)));
    columnOf.set(name, c);
    return c;
  };
  const rowsUsed: number[] = [];
  const nodes = tasks.map((t): DagNode => {
    const c = column(t.name, new Set());
    const row = rowsUsed[c] ?? 0;
    rowsUsed[c] = row + 1;
    return { name: t.name, status: t.status, column: c, row };
  });
  const edges = tasks.flatMap((t) =>
    t.parents.filter((p) => byName.has(p)).map((p) => ({ from: p, to: t.name })),
  );
  return {
    nodes,
    edges,
    columns: rowsUsed.length,
    rows: Math.max(0, ...rowsUsed.map((n) => n ?? 0)),
  };
}

const BOX_W = 170;
const BOX_H = 46;
const GAP_X = 56;
const GAP_Y = 18;
const PAD = 8;

const x = (column: number) => PAD + column * (BOX_W + GAP_X);
const y = (row: number) => PAD + row * (BOX_H + GAP_Y);

/** Longer names are cut so the box keeps its size (the full name is in its accessible name). */
const cut = (text: string, max: number) =>
  text.length > max ? `${text.slice(0, max - 1)}…` : text;

export function dagSvg(tasks: readonly DagTask[]): Html {
  const dag = layoutDag(tasks);
  const at = new Map(dag.nodes.map((n) => [n.name, n]));
  const width = PAD * 2 + dag.columns * BOX_W + Math.max(0, dag.columns - 1) * GAP_X;
  const height = PAD * 2 + dag.rows * BOX_H + Math.max(0, dag.rows - 1) * GAP_Y;
  const arrows = dag.edges.map(({ from, to }) => {
    const a = at.get(from);
    const b = at.get(to);
    if (!a || !b) return '';
    const x1 = x(a.column) + BOX_W;
    const y1 = y(a.row) + BOX_H / 2;
    const x2 = x(b.column) - 2;
    const y2 = y(b.row) + BOX_H / 2;
    const mid = (x1 + x2) / 2;
    return html`<path
      d="M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}"
      marker-end="url(#arrow)"
    />`;
  });
  const boxes = dag.nodes.map(
    (n) =>
      html`<g
        role="img"
        aria-label="${n.name}: ${n.status}"
        data-status="${n.status}"
        transform="translate(${x(n.column)},${y(n.row)})"
      >
        <rect width="${BOX_W}" height="${BOX_H}" rx="6" />
        <text x="10" y="19" class="name">${cut(n.name, 22)}</text>
        <text x="10" y="36" class="state">${n.status}</text>
      </g>`,
  );
  return html`<figure class="dag">
    <figcaption>Task graph</figcaption>
    <svg
      xmlns="http://www.w3.org/2000/svg"
      width="${width}"
      height="${height}"
      viewBox="0 0 ${width} ${height}"
      aria-label="Task graph"
      role="group"
    >
      <defs>
        <marker
          id="arrow"
          viewBox="0 0 10 10"
          refX="9"
          refY="5"
          markerWidth="7"
          markerHeight="7"
          orient="auto-start-reverse"
        >
          <path d="M0,0 L10,5 L0,10 z" />
        </marker>
      </defs>
      <g class="edges" aria-hidden="true">${arrows}</g>
      ${boxes}
    </svg>
  </figure>`;
}
