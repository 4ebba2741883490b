/**
 * What the run-index benches (index.ts, dashboard.ts) share: filling a namespace with finished
 * runs, spread over task names and one metadata key, and a steady load while they measure.
 */
import type { RunRef } from 'skein';
import { sleep } from './util.js';

type Triggerable = {
  runManyNoWait(items: { input: number; options?: object }[]): Promise<RunRef<unknown>[]>;
};

/**
 * `runs` runs, run `i` on `tasks[i % tasks.length]` with metadata `{ tenant: tenantOf(i) }`,
 * `chunk` at a time, each chunk waited for to its end; `progress` after every tenth chunk.
 */
export async function fillRuns(
  tasks: Triggerable[],
  opts: {
    runs: number;
    chunk: number;
    tenantOf: (i: number) => string;
    progress: (filled: number, seconds: number) => void;
  },
): Promise<number> {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  for (let i = 0; i < opts.runs; i += opts.chunk) {
    const byTask = new Map<number, { input: number; options: object }[]>();
    for (let j = i; j < Math.min(opts.runs, i + opts.chunk); j++) {
      const items = byTask.get(j % tasks.length) ?? [];
      items.push({ input: j, options: { additionalMetadata: { tenant: opts.tenantOf(j) } } });
      byTask.set(j % tasks.length, items);
    }
    const refs = (
      await Promise.all([...byTask].map(([k, items]) => tasks[k].runManyNoWait(items)))
    ).flat();
    await Promise.all(refs.map((r) => r.result().catch(() => undefined)));
    if ((i / opts.chunk) % 10 === 9) opts.progress(i + opts.chunk, seconds());
  }
  return seconds();
}

/** Triggers `perS` runs a second of `task` until stopped; `stop` waits for them to end. */
export function steadyLoad(task: Triggerable, perS: number) {
  let loading = true;
  let loaded = 0;
  const inFlight = new Set<Promise<unknown>>();
  const started = performance.now();
  const load = (async () => {
    while (loading) {
      const due = Math.floor(((performance.now() - started) / 1000) * perS) - loaded;
      if (due > 0) {
        const refs = await task.runManyNoWait(
          Array.from({ length: due }, (_, k) => ({ input: loaded + k })),
        );
        loaded += due;
        for (const r of refs) {
          const p = r.result().finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
      }
      await sleep(20);
    }
    return (performance.now() - started) / 1000;
  })();
  return {
    /** Stops triggering and waits for what is in flight: how many ran, over how long. */
    async stop(): Promise<{ loaded: number; seconds: number }> {
      loading = false;
      const seconds = await load;
      await Promise.all([...inFlight]);
      return { loaded, seconds };
    },
  };
}
