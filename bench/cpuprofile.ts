/**
 * Where a V8 CPU profile's time goes, per task:
 * `npx tsx bench/cpuprofile.ts <file.cpuprofile> [tasks] [top] [cpuUsPerTask]`.
 *
 * Reads a .cpuprofile (from BENCH_PROFILE_DIR in `npm run bench`, or `node --cpu-prof`) and
 * prints, in µs per task and as a share of the busy (non-idle) time:
 * - self time by module: each npm package (msgpackr, zod, pino, @nats-io/…), our own
 *   runtime/, actors/, sdk/ files, Node's core by file, V8 builtins, GC, (program);
 * - self time by function;
 * - time by the deepest frame of our own code on the stack (what our code spent, libraries and
 *   Node included, e.g. a socket write charged to whoever published), and inclusive time of
 *   our functions.
 * The profiler samples wall time: on a loaded machine a "busy" sample includes time the thread
 * was ready but not running, so give `cpuUsPerTask` (the bench's "cpu per task" for that
 * process, from /proc) to spread the process's real CPU over the shares instead.
 * A sample lasts until the next one (the profile's timeDeltas).
 * Given a .heapprofile (sampled allocations, written beside the .cpuprofile), the same tables
 * are in bytes allocated per task: what the garbage collector is given to collect. tsx runs our .ts files as one
 * line each; their lines are mapped back through the source maps in tsx's cache
 * (`$TMPDIR/tsx-<uid>`, the newest entry per file), when it is there.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { originalPositionFor, TraceMap } from '@jridgewell/trace-mapping';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface HeapNode {
  id: number;
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const [file, tasksArg, topArg, cpuArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: tsx bench/cpuprofile.ts <file.cpuprofile> [tasks] [top]\n');
  process.exit(2);
}
const tasks = Number(tasksArg) || 0;
const TOP = Number(topArg) || 25;
const cpuUsPerTask = Number(cpuArg) || 0;
const heap = file.endsWith('.heapprofile');
const raw = JSON.parse(readFileSync(file, 'utf8')) as Profile & { head?: HeapNode };
/** A heap profile's tree as a CPU profile's nodes, with one "sample" per node weighing its bytes. */
const weights: [number, number][] = [];
const profile: Profile = raw;
if (heap && raw.head) {
  const nodes: ProfileNode[] = [];
  const walk = (n: HeapNode) => {
    nodes.push({ id: n.id, callFrame: n.callFrame, children: n.children.map((c) => c.id) });
    if (n.selfSize > 0) weights.push([n.id, n.selfSize]);
    n.children.forEach(walk);
  };
  walk(raw.head);
  profile.nodes = nodes;
}
const repoRoot = path.resolve(import.meta.dirname, '..');

const byId = new Map<number, ProfileNode>();
const parent = new Map<number, number>();
for (const n of profile.nodes) byId.set(n.id, n);
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

/** The file a frame is in, relative to the repo ('runtime/journal.ts') or as Node names it. */
function fileOf(url: string): string {
  let p = url.startsWith('file://') ? decodeURIComponent(url.slice(7)) : url;
  if (p.startsWith(repoRoot + '/')) p = p.slice(repoRoot.length + 1);
  return p;
}

/** The module a frame counts under. */
function moduleOf(f: CallFrame): string {
  const name = f.functionName;
  if (!f.url) {
    if (name === '(garbage collector)') return 'GC';
    if (name === '(program)') return '(program): V8/native, not attributed';
    if (name === '(idle)') return '(idle)';
    if (name === '(root)') return '(root)';
    return 'V8 builtins / native';
  }
  const p = fileOf(f.url);
  const nm = p.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = p.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (p.startsWith('node:')) return `node ${p.slice(5).replace(/^internal\//, '')}`;
  const dir = p.split('/')[0];
  if (['runtime', 'actors', 'sdk', 'bench', 'test'].includes(dir)) {
    const parts = p.split('/');
    return parts.length > 2 ? `${parts[0]}/${parts[1]}/` : `${parts[0]}/${parts[1]}`;
  }
  return p;
}

/** Source maps of our files from tsx's cache: path -> map of the newest transform. */
const maps = new Map<string, { map: TraceMap; mtime: number }>();
try {
  const dir = path.join(os.tmpdir(), `tsx-${process.getuid?.() ?? 0}`);
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    const text = readFileSync(full, 'utf8');
    if (!text.includes(repoRoot)) continue;
    const entry = JSON.parse(text) as { map?: { sources?: string[] } };
    const src = entry.map?.sources?.[0];
    if (!src?.startsWith(repoRoot + '/')) continue;
    const mtime = statSync(full).mtimeMs;
    if ((maps.get(src)?.mtime ?? -1) < mtime)
      maps.set(src, { map: new TraceMap(entry.map as never), mtime });
  }
} catch {
  // no cache: lines stay as the profile has them
}

/** The frame's line in its source file (1-based), through tsx's source map when there is one. */
function lineOf(f: CallFrame & { columnNumber?: number }): number {
  const p = f.url.startsWith('file://') ? decodeURIComponent(f.url.slice(7)) : f.url;
  const m = maps.get(p);
  if (m) {
    const pos = originalPositionFor(m.map, {
      line: f.lineNumber + 1,
      column: f.columnNumber ?? 0,
    });
    if (pos.line) return pos.line;
  }
  return f.lineNumber + 1;
}

const ours = (f: CallFrame) => /^(runtime|actors|sdk)\//.test(fileOf(f.url));
const fnKey = (f: CallFrame) =>
  `${f.functionName || '(anonymous)'} ${f.url ? `${fileOf(f.url).replace(/^.*node_modules\//, '')}:${lineOf(f)}` : ''}`.trim();

// Sample durations: each lasts until the next one.
if (!heap) {
  const { samples, timeDeltas } = profile;
  samples.forEach((id, i) => weights.push([id, i + 1 < samples.length ? timeDeltas[i + 1] : 0]));
}

const selfByModule = new Map<string, number>();
const selfByFn = new Map<string, number>();
const byOurFrame = new Map<string, number>();
const inclusiveOurs = new Map<string, number>();
let total = 0;
let idle = 0;
const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);

for (const [nodeId, d] of weights) {
  if (d <= 0) continue;
  const node = byId.get(nodeId);
  if (!node) continue;
  total += d;
  const f = node.callFrame;
  if (f.functionName === '(idle)') {
    idle += d;
    continue;
  }
  add(selfByModule, moduleOf(f), d);
  add(selfByFn, `${fnKey(f)}  [${moduleOf(f)}]`, d);
  // walk up: the deepest frame of our own code, and every function of ours on the stack once
  let deepestOurs: string | undefined;
  const seen = new Set<string>();
  for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
    const cf = byId.get(id)!.callFrame;
    if (ours(cf)) {
      const k = fnKey(cf);
      deepestOurs ??= k;
      if (!seen.has(k)) {
        seen.add(k);
        add(inclusiveOurs, k, d);
      }
    }
  }
  const selfKind = f.functionName === '(garbage collector)' ? 'GC' : moduleOf(f);
  add(byOurFrame, deepestOurs ?? `(no frame of ours: ${selfKind})`, d);
}

const busy = total - idle;
const us = (v: number) =>
  heap
    ? tasks
      ? `${(v / tasks).toFixed(0).padStart(6)} B`
      : ''
    : cpuUsPerTask
      ? ((cpuUsPerTask * v) / busy).toFixed(1).padStart(7)
      : tasks
        ? (v / tasks).toFixed(1).padStart(7)
        : '';
const pct = (v: number) => `${((100 * v) / busy).toFixed(1).padStart(5)}%`;
function table(title: string, m: Map<string, number>, n = TOP) {
  const unit = heap ? 'bytes allocated/task, share' : 'µs/task, share of busy';
  console.log(`\n${title}${tasks ? ` (${unit})` : ' (share)'}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n))
    console.log(`${us(v)} ${pct(v)}  ${k}`);
}

if (heap)
  console.log(
    `${file}: ${(total / 2 ** 20).toFixed(1)} MB allocated (sampled)` +
      (tasks ? `, ${(total / tasks).toFixed(0)} bytes per task over ${tasks} tasks` : ''),
  );
else
  console.log(
    `${file}: ${(total / 1e6).toFixed(2)} s profiled, ${weights.length} samples; busy ${(busy / 1e6).toFixed(2)} s ` +
      `(${((100 * busy) / total).toFixed(0)}%), idle ${(idle / 1e6).toFixed(2)} s` +
      (tasks ? `; busy per task ${(busy / tasks).toFixed(1)} µs over ${tasks} tasks` : '') +
      (cpuUsPerTask ? `; µs below = share × ${cpuUsPerTask} µs of CPU per task` : ''),
  );
const what = heap ? 'Allocated' : 'Self time';
table(`${what} by module`, selfByModule, 40);
table(`${what} by function`, selfByFn);
table('By the deepest frame of our code (libraries and Node below it included)', byOurFrame);
table(heap ? 'Allocated under our functions' : 'Inclusive time of our functions', inclusiveOurs);
