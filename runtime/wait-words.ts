/** What a waiting task waits for, in words: `event order:approved matching input.ok, or 10 s`. */
import type { ConditionExpr, ConditionSpec } from '../actors/run/spec.js';

function seconds(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${Number(s.toFixed(1))} s`;
  if (s < 3600) return `${Number((s / 60).toFixed(1))} min`;
  return `${Number((s / 3600).toFixed(1))} h`;
}

function conditionWords(c: ConditionSpec): string {
  switch (c.kind) {
    case 'sleep':
      return c.untilMs === undefined ? seconds(c.ms) : new Date(c.untilMs).toISOString();
    case 'event':
      return [
        `event ${c.eventKey}`,
        c.expression ? ` matching ${c.expression}` : '',
        c.scope ? ` (scope ${c.scope})` : '',
      ].join('');
    case 'parent':
      return c.expression
        ? `task ${c.parent}'s output matching ${c.expression}`
        : `task ${c.parent} to succeed`;
  }
}

/** AND over the groups (`; and `), OR within one (`, or `); conditions that held are left out. */
export function waitWords(expr: ConditionExpr, met: readonly string[] = []): string {
  return expr
    .filter((group) => !group.some((c) => met.includes(c.id)))
    .map((group) => group.map(conditionWords).join(', or '))
    .join('; and ');
}
