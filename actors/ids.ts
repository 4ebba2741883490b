/**
 * The ids the actors build: queue keys, concurrency groups and holders, run ids of crons and
 * schedules, and the ids of the messages and timers they send. Message and timer ids are what
 * JetStream dedupes on, so none of these may change shape between versions (ids.unit.spec.ts
 * pins each one). Ids built outside the actors live in runtime/ids.ts.
 */

/** A task run's key: `<runId>:<task>:<generation>.<attempt>`, plus `~<n>` for a durable task's n-th resumption. */
export function queueKey(
  runId: string,
  taskName: string,
  generation: number,
  attempt: number,
  resume = 0,
) {
  const key = `${runId}:${taskName}:${generation}.${attempt}`;
  return resume > 0 ? `${key}~${resume}` : key;
}

/** The attempt-free part of a queue key, `<runId>:<task>:<generation>`: a durable task's history scope. */
export function attemptScope(key: string) {
  return key.slice(0, key.lastIndexOf('.'));
}

/** The attempt a queue key is of, `<scope>.<attempt>`: the same across its resumptions (`~<n>`). */
export function attemptOf(key: string) {
  return key.replace(/~\d+$/, '');
}

/** A concurrency group id, `<scope>|<index>|<key>`; one over 255 bytes (a long key) goes by a hash of it. */
export function concurrencyGroupId(scope: string, index: number, key: string): string {
  const id = `${scope}|${index}|${key}`;
  if (new TextEncoder().encode(id).length <= 255) return id;
  return `h-${hash53(id, 1)}${hash53(id, 2)}`;
}

/** The key a group id ends with (a hashed id has none to give). */
export const keyOfGroup = (groupId: string) => groupId.split('|').slice(2).join('|');

/** The scope (workflow, or `workflow/task`) and key a group id was made of; undefined once hashed. */
export function concurrencyGroupOf(groupId: string): { scope: string; key: string } | undefined {
  const parts = groupId.split('|');
  return parts.length < 3 ? undefined : { scope: parts[0], key: keyOfGroup(groupId) };
}

/** Who holds concurrency slots: a run's generation, or one of its tasks. */
export const runHolder = (runId: string, generation: number) => `${runId}#${generation}`;
export const taskHolder = (runId: string, generation: number, taskName: string) =>
  `${runHolder(runId, generation)}/${taskName}`;

/** cyrb53: a 53-bit string hash; two seeds make collisions of long keys practically impossible. */
function hash53(text: string, seed: number): string {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16);
}

/** A durable wait's condition id: unique per position, so the waits of two positions never mix. */
export const durableConditionId = (position: number, conditionId: string) =>
  `d${position}.${conditionId}`;

// ---- Run ids ----

export const cronRunId = (cronId: string, tickAt: number) => `cron-${cronId}-${tickAt}`;
export const scheduleRunId = (scheduleId: string) => `schedule-${scheduleId}`;

// ---- Timer ids ----

export const cronTimerId = (cronId: string, dueAt: number) => `cron:${cronId}:${dueAt}`;
export const scheduleTimerId = (scheduleId: string) => `schedule:${scheduleId}`;
/** A retry's timer and the message it fires share this id. */
export const retryId = (key: string) => `retry:${key}`;
export const sleepTimerId = (
  prefix: 'sleep' | 'dsleep',
  runId: string,
  taskName: string,
  generation: number,
  sleepId: string,
) => `${prefix}:${runId}:${taskName}:${generation}:${sleepId}`;

// ---- Message ids ----

export const cronDueId = (cronId: string, dueAt: number) => `cron-due:${cronId}:${dueAt}`;
export const scheduleDueId = (scheduleId: string) => `schedule-due:${scheduleId}`;
export const workerLostId = (key: string, workerId: string) => `lost:${key}:${workerId}`;
/** A dispatch the worker never acknowledged; `dispatchedAt` tells two dispatches to one worker apart. */
export const dispatchUnackedId = (key: string, workerId: string, dispatchedAt: number) =>
  `unacked:${key}:${workerId}:${dispatchedAt}`;
export const scheduleTimedOutId = (key: string) => `schedule-timeout:${key}`;
export const acquireId = (groupId: string, holder: string) => `acquire:${groupId}:${holder}`;
export const releaseId = (groupId: string, holder: string) => `release:${groupId}:${holder}`;
export const grantedId = (groupId: string, holder: string) => `granted:${groupId}:${holder}`;
export const concurrencyCancelId = (runId: string, groupId: string) =>
  `cancel:${runId}:concurrency:${groupId}`;
export const parentCancelId = (childRunId: string, parentRunId: string) =>
  `cancel:${childRunId}:parent:${parentRunId}`;
export const childFinishedId = (runId: string, generation: number) =>
  `child-finished:${runId}:${generation}`;
/** The id of an events check, made of the id of the message that asked for it. */
export const eventsCheckId = (messageId: string) => `checked:${messageId}`;
