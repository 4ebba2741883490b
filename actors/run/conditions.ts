/** Workflow task conditions: does an AND-of-OR-groups expression hold, given what is known. */
import { evaluate } from '@marcbachmann/cel-js';
import type { ConditionExpr, ConditionSpec } from './spec.js';
import type { RunState } from './state.js';

function conditionHolds(c: ConditionSpec, state: RunState, met: string[]): boolean {
  if (c.kind !== 'parent') return met.includes(c.id);
  const parent = state.tasks[c.parent];
  if (parent?.status !== 'COMPLETED') return false;
  if (!c.expression) return true;
  try {
    return evaluate(c.expression, { output: parent.output as never }) === true;
  } catch {
    return false; // e.g. a key the output lacks: the condition does not hold
  }
}

/** Whether `expr` holds; `undefined` when there is no such expression. */
export function holds(
  expr: ConditionExpr | undefined,
  state: RunState,
  met: string[],
): boolean | undefined {
  if (!expr || expr.length === 0) return undefined;
  return expr.every((group) => group.some((c) => conditionHolds(c, state, met)));
}

const all = (exprs: (ConditionExpr | undefined)[]) => exprs.flatMap((e) => (e ?? []).flat());

/** The sleep conditions of a task, which need timers while it waits. */
export function sleepsOf(...exprs: (ConditionExpr | undefined)[]) {
  return all(exprs).filter((c) => c.kind === 'sleep');
}

/** The event conditions of a task, which need the event router while it waits. */
export function eventsOf(...exprs: (ConditionExpr | undefined)[]) {
  return all(exprs).filter((c) => c.kind === 'event');
}

/** Whether an event's payload satisfies an event condition's CEL expression (none: always). */
export function eventMatches(expression: string | undefined, payload: unknown): boolean {
  if (!expression) return true;
  try {
    return evaluate(expression, { input: payload as never }) === true;
  } catch {
    return false;
  }
}
