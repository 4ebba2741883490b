/**
 * The event keys a task of a run waits for, read from the run's history as stored: a workflow
 * task's declared waitFor (in the spec `RunTriggered` copied) or a durable task's last wait.
 * The run page pre-fills "Push event" with them.
 */
import type { RunEventRecord } from '../../sdk/index.js';

type Conditions = { kind?: unknown; eventKey?: unknown }[][];

function eventKeys(expr: unknown): string[] {
  if (!Array.isArray(expr)) return [];
  return (expr as Conditions)
    .flat()
    .flatMap((c) => (c?.kind === 'event' && typeof c.eventKey === 'string' ? [c.eventKey] : []));
}

/** Task name -> the event keys it may wait for (declared, then the durable wait last started). */
export function awaitedEventKeys(history: readonly RunEventRecord[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of history) {
    if (e.type === 'RunTriggered') {
      const tasks = (e.data.spec as { tasks?: { name?: unknown; waitFor?: unknown }[] } | undefined)
        ?.tasks;
      for (const t of tasks ?? []) {
        const keys = eventKeys(t.waitFor);
        if (typeof t.name === 'string' && keys.length > 0) out.set(t.name, keys);
      }
    } else if (e.type === 'DurableWaitStarted' && typeof e.data.taskName === 'string') {
      const keys = eventKeys(e.data.conditions);
      if (keys.length > 0) out.set(e.data.taskName, keys);
    }
  }
  return out;
}
