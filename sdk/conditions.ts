/**
 * Conditions for workflow tasks (`waitFor`, `skipIf`, `cancelIf`) and durable waits. A list
 * means all of them (AND); `Or(...)` means the first one to hold. Object forms work too:
 * `{ sleepFor }`, `{ eventKey, expression? }`, `{ parent, expression? }`.
 */
import type { ConditionExpr, ConditionSpec } from '../actors/run/spec.js';
import type { TaskLike } from './context.js';
import { toMs, type Duration } from './duration.js';
import { assertCel } from './cel.js';
import { ValidationError } from './errors.js';
import { checkOptions } from '../runtime/options.js';

export class SleepCondition {
  constructor(
    readonly duration: Duration,
    readonly readableDataKey?: string,
  ) {}
}

export class UserEventCondition {
  constructor(
    readonly eventKey: string,
    readonly expression?: string,
    readonly readableDataKey?: string,
    /** `since`: also events pushed since then; `scope`: only events pushed with this scope. */
    readonly options?: { since?: Date; scope?: string },
  ) {}
}

export class ParentCondition {
  constructor(
    readonly parent: TaskLike,
    readonly expression?: string,
    readonly readableDataKey?: string,
  ) {}
}

export class OrGroup {
  constructor(readonly conditions: ConditionLike[]) {}
}

export type ConditionLike =
  | SleepCondition
  | UserEventCondition
  | ParentCondition
  | { sleepFor: Duration; readableDataKey?: string }
  | {
      eventKey: string;
      expression?: string;
      readableDataKey?: string;
      scope?: string;
      since?: Date;
    }
  | { parent: TaskLike; expression?: string; readableDataKey?: string };

/** The first of these conditions to hold. */
export function Or(...conditions: ConditionLike[]): OrGroup {
  return new OrGroup(conditions);
}

/** The keys of each object form, and of UserEventCondition's options. */
const FORMS = {
  sleep: ['sleepFor', 'readableDataKey'],
  event: ['eventKey', 'expression', 'readableDataKey', 'scope', 'since'],
  parent: ['parent', 'expression', 'readableDataKey'],
  eventOptions: ['since', 'scope'],
};

export type Conditions = ConditionLike | OrGroup | (ConditionLike | OrGroup)[];

function checkCel(expression: string | undefined, where: string): string | undefined {
  if (expression === undefined || expression.trim() === '') return undefined;
  assertCel(expression, where);
  return expression;
}

/**
 * Turns declared conditions into the run's form; `parents` are the task's parent names. A
 * task's `skipIf` and `cancelIf` give their own `idPrefix`, so no two of its conditions share
 * an id (a condition that held would count for the other expression too).
 */
export function conditionExpr(
  value: Conditions | undefined,
  where: string,
  parents: string[],
  idPrefix = '',
): ConditionExpr | undefined {
  if (value === undefined) return undefined;
  let next = 0;
  const one = (c: ConditionLike): ConditionSpec => {
    const spec = described(c, `${idPrefix}c${next++}`);
    const key = c.readableDataKey;
    if (key !== undefined && (typeof key !== 'string' || key.length === 0))
      throw new ValidationError(`${where}: readableDataKey must be a non-empty string`);
    return key === undefined ? spec : { ...spec, readableDataKey: key };
  };
  const described = (c: ConditionLike, id: string): ConditionSpec => {
    if (typeof c !== 'object' || c === null)
      throw new ValidationError(`${where}: not a condition: ${JSON.stringify(c)}`);
    const plain = Object.getPrototypeOf(c) === Object.prototype;
    if (c instanceof SleepCondition || 'sleepFor' in c) {
      if (plain) checkOptions(c, FORMS.sleep, `${where}: sleep condition`);
      const duration = c instanceof SleepCondition ? c.duration : c.sleepFor;
      return { kind: 'sleep', id, ms: toMs(duration, `${where}: sleep condition`) };
    }
    if (c instanceof ParentCondition || 'parent' in c) {
      if (plain) checkOptions(c, FORMS.parent, `${where}: parent condition`);
      const name = c.parent?.name;
      if (!parents.includes(name))
        throw new ValidationError(
          `${where}: parent condition on '${name}', which is not one of its parents`,
        );
      return { kind: 'parent', id, parent: name, expression: checkCel(c.expression, where) };
    }
    if (c instanceof UserEventCondition || 'eventKey' in c) {
      if (typeof c.eventKey !== 'string' || c.eventKey.length === 0) {
        throw new ValidationError(`${where}: an event condition needs a non-empty event key`);
      }
      const at = `${where}: event condition '${c.eventKey}'`;
      if (c instanceof UserEventCondition)
        checkOptions(c.options, FORMS.eventOptions, `${at}: options`);
      else if (plain) checkOptions(c, FORMS.event, at);
      const since = c instanceof UserEventCondition ? c.options?.since : c.since;
      const scope = c instanceof UserEventCondition ? c.options?.scope : c.scope;
      if (scope !== undefined && (typeof scope !== 'string' || scope.length === 0))
        throw new ValidationError(`${where}: scope must be a non-empty string`);
      if (since !== undefined && !(since instanceof Date && !Number.isNaN(since.getTime()))) {
        throw new ValidationError(`${where}: since must be a valid Date`);
      }
      return {
        kind: 'event',
        id,
        eventKey: c.eventKey,
        expression: checkCel(c.expression, where),
        sinceMs: since?.getTime(),
        scope,
      };
    }
    throw new ValidationError(`${where}: not a condition: ${JSON.stringify(c)}`);
  };
  const items = Array.isArray(value) ? value : [value];
  return items.map((item) => (item instanceof OrGroup ? item.conditions.map(one) : [one(item)]));
}
