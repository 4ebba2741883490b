import { randomUUID } from 'node:crypto';
import type { ConditionExpr } from '../actors/run/spec.js';
import type { QueuedTask } from '../actors/scheduler/queued-task.js';
import { conditionExpr, OrGroup, ParentCondition, type Conditions } from './conditions.js';
import { ContextImpl, type ContextHost } from './context-impl.js';
import type { DurableCalls } from './durable-calls.js';
import type { DurableContext } from './durable-context.js';
import { toMs, type Duration } from './duration.js';
import { ValidationError } from './errors.js';
import { toJson } from './json.js';
import { memoCallKey } from '../runtime/ids.js';

/** What a durable waitFor returns each condition's data under, unless told otherwise. */
function withDataKeys(expr: ConditionExpr): ConditionExpr {
  return expr.map((group) =>
    group.map((c) => ({
      ...c,
      readableDataKey: c.readableDataKey ?? (c.kind === 'event' ? c.eventKey : c.kind),
    })),
  );
}

/** What a waitFor is about, for checking on replay that the code still asks for it. */
const describeConditions = (expr: ConditionExpr) =>
  expr
    .map((group) =>
      group.map((c) => (c.kind === 'event' ? `event:${c.eventKey}` : c.kind)).join('|'),
    )
    .join('&');

export class DurableContextImpl<I> extends ContextImpl<I> implements DurableContext<I> {
  constructor(
    task: QueuedTask,
    host: ContextHost,
    signal: AbortSignal,
    private readonly calls: DurableCalls,
  ) {
    // Lines and chunks before the last recorded call were sent by the execution that recorded it.
    const storeLog: ContextHost['storeLog'] = (line) => {
      if (!calls.replaying) host.storeLog(line);
    };
    const putStream: ContextHost['putStream'] = (chunk) => {
      if (!calls.replaying) host.putStream(chunk);
    };
    super(task, { ...host, storeLog, putStream }, signal);
  }

  async sleepFor(duration: Duration) {
    const ms = toMs(duration, 'sleepFor');
    const conditions: ConditionExpr = [[{ kind: 'sleep', id: 'c0', ms }]];
    return (await this.calls.wait('sleep', 'sleepFor', { conditions })) as { durationMs: number };
  }

  async sleepUntil(date: Date) {
    if (!(date instanceof Date) || Number.isNaN(date.getTime()))
      throw new ValidationError(`sleepUntil needs a valid Date, got ${String(date)}`);
    const conditions: ConditionExpr = [
      [{ kind: 'sleep', id: 'c0', ms: 0, untilMs: date.getTime() }],
    ];
    return (await this.calls.wait('sleep', 'sleepUntil', { conditions })) as { durationMs: number };
  }

  async waitForEvent<T = unknown>(
    key: string,
    expression?: string,
    opts?: { scope?: string },
  ): Promise<T> {
    const conditions = conditionExpr(
      { eventKey: key, expression, scope: opts?.scope },
      'waitForEvent',
      [],
    )!;
    return (await this.calls.wait('waitForEvent', key, { conditions })) as T;
  }

  async waitFor(conditions: Conditions): Promise<Record<string, unknown>> {
    const items = (Array.isArray(conditions) ? conditions : [conditions]).flatMap((c) =>
      c instanceof OrGroup ? c.conditions : [c],
    );
    if (items.some((c) => c instanceof ParentCondition || (typeof c === 'object' && 'parent' in c)))
      throw new ValidationError(
        'waitFor in a durable task takes sleeps and events; a parent has finished before it ' +
          'runs: read its output with ctx.parentOutput',
      );
    const expr = conditionExpr(conditions, 'waitFor', []);
    if (!expr || expr.length === 0)
      throw new ValidationError('waitFor needs at least one condition');
    const callKey = describeConditions(expr);
    return (await this.calls.wait('waitFor', callKey, {
      conditions: withDataKeys(expr),
    })) as Record<string, unknown>;
  }

  memo<T, A extends unknown[]>(fn: (...args: A) => T | Promise<T>, ...args: A): Promise<T> {
    if (typeof fn !== 'function') throw new ValidationError('memo needs a function');
    const callKey = memoCallKey(fn.name, JSON.stringify(toJson(args, 'memo arguments')) ?? '');
    return this.calls.call('memo', callKey, () => fn(...args));
  }

  async now(): Promise<Date> {
    return new Date(await this.calls.call('now', 'now', () => Date.now()));
  }

  uuid(): Promise<string> {
    return this.calls.call('uuid', 'uuid', () => randomUUID());
  }
}
