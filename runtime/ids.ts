/**
 * The ids built outside the actors: run ids derived from names, the ids of messages the SDK
 * and the engine send, and the Nats-Msg-Id of what they store. JetStream dedupes on these, so
 * none may change shape between versions (ids.unit.spec.ts pins each one). The actors' own
 * ids are in actors/ids.ts; the ones the SDK needs are passed on from here.
 */
import { createHash, randomUUID } from 'node:crypto';

export { attemptOf, attemptScope, queueKey } from '../actors/ids.js';

/** A UUID-shaped id made of the given parts, so the same intent always names the same thing. */
export function derivedId(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The run a trigger with an idempotency key names: every trigger with that key names the same run. */
export const keyedRunId = (name: string, key: string) => derivedId(name, key);

/** Metadata keys of a run an event started: which event, under which key (events.list, RunOrigin). */
export const EVENT_META = { id: 'skein__event_id', key: 'skein__event_key' } as const;

/** The run an event starts for one subscriber. */
export const eventRunId = (eventId: string, name: string) => derivedId('event', eventId, name);

/**
 * A memo's call key: the function's name and a hash of its arguments' JSON. Replay matches
 * recorded calls by it, so a history recorded before an upgrade must still match.
 */
export function memoCallKey(fnName: string, argsJson: string): string {
  const h = createHash('sha256').update(argsJson).digest('hex').slice(0, 12);
  return `${fnName || 'anonymous'}:${h}`;
}

// ---- Message ids (a random part makes each request its own message) ----

export const triggerId = (runId: string) => `trigger:${runId}`;
export const childStartedId = (childRunId: string) => `child:${childRunId}`;
export const cancelId = (runId: string) => `cancel:${runId}:${randomUUID()}`;
export const replayId = (runId: string) => `replay:${runId}:${randomUUID()}`;
export const taskResultId = (key: string) => `result:${key}`;
export const timeoutRefreshId = (key: string) => `refresh:${key}:${randomUUID()}`;
/** A durable call is recorded once per attempt scope and position, whichever attempt records it. */
export const durableCallId = (scope: string, position: number) => `durable:${scope}:${position}`;
export const durableWaitId = (key: string, position: number) =>
  `durable-wait:${key}:${position}:${randomUUID()}`;
export const eventReceivedId = (eventId: string, waitKey: string) => `event:${eventId}:${waitKey}`;
export const defineCronId = () => `define:${randomUUID()}`;
export const createScheduleId = (scheduleId: string) => `create:${scheduleId}`;
/** Deletes a cron or a schedule. */
export const deleteId = () => `delete:${randomUUID()}`;

// ---- Nats-Msg-Id of stored messages ----

/** A turn: the actor and the message it handled; names the turn in logs and its effects' ids. */
export const turnSource = (type: string, actorId: string, messageId: string) =>
  `${type}.${actorId}:${messageId}`;
/** The i-th effect of a turn, so a repeated turn cannot store its effects twice. */
export const effectMsgId = (source: string, i: number) => `${source}#${i}`;
/** A timer as stored in the timers stream. */
export const timerStoredMsgId = (timerId: string) => `t:${timerId}`;
/** The message a timer delivers when it fires. */
export const timerFiredMsgId = (timerId: string) => `timer:${timerId}`;
