/**
 * Which condition of a wait held first, in the time of the events: an event holds at its
 * JetStream timestamp, a sleep at the deadline recorded when the wait began. An event counts
 * if stamped at or after the wait began (or its `since`). In a wait whose sleeps race its
 * events, an event stamped after a deadline that has not been judged yet waits for it, and a
 * deadline is judged only after a check has read the events stored up to it (EventCheck): an
 * event stored before the deadline then wins, however late the engine heard of it.
 */
import type { EventCheck, FoundEvent } from '../effects.js';
import { eventMatches } from './conditions.js';
import type { ConditionSpec } from './spec.js';

type Sleep = Extract<ConditionSpec, { kind: 'sleep' }>;
type EventCondition = Extract<ConditionSpec, { kind: 'event' }>;

/** A wait as these rules see it: a durable call's conditions, or a workflow task's. */
export interface WaitView {
  conditions: ConditionSpec[];
  /** When the wait began: its sleeps count from then, its events are taken from then. */
  startedAt: number;
  /** Ids of the conditions that held already. */
  met: readonly string[];
}

/** A condition that held, at what time, with what an event carried. */
export interface Held {
  conditionId: string;
  at: number;
  event?: { payload: unknown };
}

export const deadlineOf = (sleep: Sleep, startedAt: number) =>
  sleep.untilMs ?? startedAt + sleep.ms;

const sleepsOf = (w: WaitView) => w.conditions.filter((c): c is Sleep => c.kind === 'sleep');
const eventsOf = (w: WaitView) =>
  w.conditions.filter((c): c is EventCondition => c.kind === 'event');

/** Whether the wait's sleeps race events it still awaits: then a deadline is judged after a check. */
export const racesEvents = (w: WaitView) =>
  sleepsOf(w).length > 0 && eventsOf(w).some((c) => !w.met.includes(c.id));

/** The earliest deadline not judged yet of a wait whose sleeps race its events. */
export function openDeadline(w: WaitView): number | undefined {
  if (!racesEvents(w)) return undefined;
  const open = sleepsOf(w)
    .filter((c) => !w.met.includes(c.id))
    .map((c) => deadlineOf(c, w.startedAt));
  return open.length > 0 ? Math.min(...open) : undefined;
}

function counts(w: WaitView, c: EventCondition, at: number, payload: unknown): boolean {
  return (
    !w.met.includes(c.id) && at >= (c.sinceMs ?? w.startedAt) && eventMatches(c.expression, payload)
  );
}

/**
 * What an event stamped `at` does for condition `c`: nothing, hold now, or (stamped after a
 * deadline not judged yet, which thus came first) wait for that deadline's check.
 */
export function placeEvent(
  w: WaitView,
  c: EventCondition,
  at: number,
  payload: unknown,
): 'ignore' | 'now' | 'afterDeadline' {
  if (!counts(w, c, at, payload)) return 'ignore';
  const deadline = openDeadline(w);
  return deadline !== undefined && at > deadline ? 'afterDeadline' : 'now';
}

/** A sleep that elapsed or an event that arrived, for condition `conditionId` of a wait. */
export interface ConditionNews {
  type: 'SleepElapsed' | 'EventReceived';
  conditionId: string;
  /** An event's stored time. */
  at?: number;
  payload?: unknown;
}

/**
 * What `news` does to wait `w` at `now`: nothing; the condition holds; or first a check of the
 * events stored up to `checkUpTo` (a deadline that races events, or an event stamped after a
 * deadline not judged yet).
 */
export function judge(
  w: WaitView,
  news: ConditionNews,
  now: number,
): 'ignore' | 'hold' | { checkUpTo: number } {
  const condition = w.conditions.find((c) => c.id === news.conditionId);
  if (!condition || w.met.includes(condition.id)) return 'ignore';
  if (news.type === 'SleepElapsed') {
    if (condition.kind !== 'sleep') return 'ignore';
    if (racesEvents(w)) return { checkUpTo: Math.max(now, deadlineOf(condition, w.startedAt)) };
    return 'hold';
  }
  if (condition.kind !== 'event') return 'ignore';
  const at = news.at ?? now;
  const place = placeEvent(w, condition, at, news.payload);
  if (place === 'afterDeadline') return { checkUpTo: Math.max(now, at) };
  return place === 'ignore' ? 'ignore' : 'hold';
}

/**
 * What held up to a check's `horizon`, in time order (an event before a deadline of the same
 * time): the events it found and the deadlines passed. A found event stamped after a deadline
 * beyond the horizon is left for that deadline's own check.
 */
export function heldInOrder(w: WaitView, horizon: number, found: FoundEvent[]): Held[] {
  const held: Held[] = [];
  for (const f of found) {
    const c = eventsOf(w).find((e) => e.id === f.conditionId);
    if (c && counts(w, c, f.at, f.payload))
      held.push({ conditionId: c.id, at: f.at, event: { payload: f.payload } });
  }
  held.sort((a, b) => a.at - b.at);
  const open = sleepsOf(w).filter((c) => !w.met.includes(c.id));
  for (const sleep of open) {
    const at = deadlineOf(sleep, w.startedAt);
    if (at > horizon) continue;
    const i = held.findIndex((h) => h.at > at);
    held.splice(i < 0 ? held.length : i, 0, { conditionId: sleep.id, at });
  }
  const beyond = open.map((c) => deadlineOf(c, w.startedAt)).filter((at) => at > horizon);
  const next = beyond.length > 0 ? Math.min(...beyond) : Infinity;
  return held.filter((h) => !h.event || h.at <= next);
}

/** The check a wait needs before its deadline is judged, answered to message id `id`. */
export function checkOf(
  w: WaitView,
  target: Omit<EventCheck, 'conditions'>,
): { type: 'checkEvents'; check: EventCheck } {
  const conditions = eventsOf(w)
    .filter((c) => !w.met.includes(c.id))
    .map((c) => ({
      conditionId: c.id,
      eventKey: c.eventKey,
      sinceMs: c.sinceMs ?? w.startedAt,
      expression: c.expression,
      scope: c.scope,
    }));
  return { type: 'checkEvents', check: { ...target, conditions } };
}
