/**
 * CPU time of the processes taking part (this one, its children, a named server), read from
 * /proc, so a phase can say who was busy: on a 2-core box the bottleneck is whoever nears 100%.
 * On a system without /proc the readings are empty.
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

const TICKS_PER_S = 100; // USER_HZ on Linux

interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  cpuS: number;
}

function readProc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const f = stat.slice(close + 2).split(' ');
    // after "pid (comm) ": state ppid ... utime(14th field overall => index 11) stime(index 12)
    return { pid, ppid: Number(f[1]), comm, cpuS: (Number(f[11]) + Number(f[12])) / TICKS_PER_S };
  } catch {
    return undefined;
  }
}

function allProcs(): Proc[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: Proc[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const p = readProc(Number(e));
    if (p) out.push(p);
  }
  return out;
}

export interface CpuSample {
  at: number;
  byLabel: Map<string, number>;
  /** CPU seconds the whole machine has been busy (all cores), from /proc/stat. */
  machineBusyS: number;
}

function machineBusy(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const [user, nice, system, , , irq, softirq, steal] = line
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    return (user + nice + system + irq + softirq + (steal || 0)) / TICKS_PER_S;
  } catch {
    return NaN;
  }
}

/** This process ("bench"), its children by command name, and any process named in `extra`. */
export function sampleCpu(extra: string[] = []): CpuSample {
  const procs = allProcs();
  const byLabel = new Map<string, number>();
  const add = (label: string, s: number) => byLabel.set(label, (byLabel.get(label) ?? 0) + s);
  for (const p of procs) {
    if (p.pid === process.pid) add('bench (client+worker)', p.cpuS);
    // (tsx's esbuild service and nats-server watchdogs (sh) are children too: not of interest)
    else if (p.ppid === process.pid && p.comm !== 'sh' && p.comm !== 'esbuild')
      add(p.comm === 'node' ? 'engine' : p.comm, p.cpuS);
    else if (extra.includes(p.comm)) add(p.comm, p.cpuS);
  }
  return { at: performance.now(), byLabel, machineBusyS: machineBusy() };
}

/** Percent of one core each process used between two samples. */
export function cpuBetween(a: CpuSample, b: CpuSample): string {
  const seconds = (b.at - a.at) / 1000;
  if (seconds <= 0 || b.byLabel.size === 0) return 'n/a';
  let ours = 0;
  const parts = [...b.byLabel].map(([label, s]) => {
    const used = s - (a.byLabel.get(label) ?? 0);
    ours += used;
    return `${label} ${Math.round((100 * used) / seconds)}%`;
  });
  const others = b.machineBusyS - a.machineBusyS - ours;
  if (Number.isFinite(others))
    parts.push(
      `other processes on the machine ${Math.max(0, Math.round((100 * others) / seconds))}%`,
    );
  return parts.join(', ');
}

/** CPU µs per task each process used between two samples (over `tasks` tasks). */
export function cpuPerTask(a: CpuSample, b: CpuSample, tasks: number): string {
  if (tasks <= 0 || b.byLabel.size === 0) return 'n/a';
  let ours = 0;
  const parts = [...b.byLabel].map(([label, s]) => {
    const used = s - (a.byLabel.get(label) ?? 0);
    ours += used;
    return `${label} ${Math.round((used * 1e6) / tasks)} µs`;
  });
  parts.push(`sum ${Math.round((ours * 1e6) / tasks)} µs`);
  return parts.join(', ');
}

/** The machine's 1-minute load average, to tell a quiet run from a contended one. */
export function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}
