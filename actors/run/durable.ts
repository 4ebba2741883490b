/**
 * Durable tasks in the run actor: recording durable calls, suspending a task on a wait, and
 * queueing it again (to be resumed or replayed) once the wait resolves.
 */
import { earlyDecision, noDecision, type Decision } from '../actor.js';
import { holds } from './conditions.js';
import { checkOf, heldInOrder, judge, type WaitView } from './event-time.js';
import type { RunEvent } from './events.js';
import type { RunMessage } from './messages.js';
import { endWaits, listenFor, queueTask, taskSpec } from './progress.js';
import { Turn } from './turn.js';
import type { ConditionExpr } from './spec.js';
import {
  isTerminal,
  type DurableWaitState,
  type RunState,
  type TaskRunState,
  isQueuedOrRunning,
} from './state.js';
import { eventsCheckId } from '../ids.js';
import { durableConditionId } from '../ids.js';

type DurableCall = Extract<RunMessage, { type: 'DurableCall' }>;
type DurableWait = Extract<RunMessage, { type: 'DurableWait' }>;
type ConditionMessage = Extract<
  RunMessage,
  { type: 'SleepElapsed' | 'EventReceived' | 'EventsChecked' }
>;

/** The durable task a durable call message is about, if that attempt is live and running. */
function runningDurable(state: RunState, m: DurableCall | DurableWait) {
  const spec = taskSpec(state, m.taskName);
  if (!spec?.durable || isTerminal(state.status) || !isQueuedOrRunning(state, m.taskName, m.key))
    return undefined;
  return { task: state.tasks[m.taskName], spec };
}

/** A call or wait whose earlier calls the run has not recorded yet (they are on their way). */
function aheadOf(m: DurableCall | DurableWait, recorded: number) {
  return earlyDecision(
    `durable ${m.type === 'DurableCall' ? 'call' : 'wait'} at position ${m.position} of ` +
      `'${m.taskName}' came before the calls ahead of it (${recorded} recorded)`,
  );
}

function markStarted(turn: Turn, task: TaskRunState, workerId: string, now: number) {
  if (task.status !== 'QUEUED') return;
  turn.record({
    type: 'TaskStarted',
    taskName: task.name,
    key: task.key,
    attempt: task.attempt,
    workerId,
    at: now,
  });
}

export function recordCall(state: RunState, m: DurableCall, now: number) {
  const found = runningDurable(state, m);
  if (!found || found.task.waiting) return noDecision;
  const recorded = found.task.callCount ?? 0;
  if (m.position > recorded) return aheadOf(m, recorded);
  if (m.position < recorded) return noDecision;
  const turn = new Turn(state, now);
  markStarted(turn, found.task, m.workerId, now);
  turn.record({
    type: 'DurableCallRecorded',
    taskName: m.taskName,
    position: m.position,
    kind: m.kind,
    callKey: m.callKey,
    result: m.result,
    at: now,
  });
  return turn.done();
}

/** Condition ids are unique per position, so timers and event waits of two waits never mix. */
function positioned(conditions: ConditionExpr | undefined, position: number) {
  return conditions?.map((group) =>
    group.map((c) => ({
      ...c,
      id: durableConditionId(position, c.id),
      readableDataKey: c.readableDataKey,
    })),
  );
}

export function startWait(state: RunState, m: DurableWait, now: number) {
  const found = runningDurable(state, m);
  if (!found) return noDecision;
  const { task, spec } = found;
  const recorded = task.callCount ?? 0;
  if (m.position > recorded) return aheadOf(m, recorded);
  if (task.waiting && task.waiting.position !== m.position) return noDecision;
  const turn = new Turn(state, now);
  markStarted(turn, task, m.workerId, now);
  if (m.position < recorded) {
    // Resolved while this execution was away: queued again without the result (the state does
    // not hold it), so whichever worker takes it replays, reading the result from the history.
    suspend(turn, m, now);
    queueTask(turn, spec, task.attempt, now, {
      position: m.position,
      preferredWorkerId: m.workerId,
    });
    return turn.done();
  }
  if (!task.waiting) {
    const conditions = positioned(m.conditions, m.position);
    turn.record({
      type: 'DurableWaitStarted',
      taskName: m.taskName,
      position: m.position,
      kind: m.kind,
      callKey: m.callKey,
      conditions,
      childRunId: m.childRunId,
      at: now,
    });
    listenFor(turn, m.taskName, [conditions], now, 'dsleep');
  }
  suspend(turn, m, now);
  resolveIfDone(turn, m.taskName, now);
  return turn.done();
}

function suspend(turn: Turn, m: DurableWait, now: number) {
  turn.record({
    type: 'TaskSuspended',
    taskName: m.taskName,
    key: m.key,
    workerId: m.workerId,
    at: now,
  });
}

/** What the resolved call returns to the task code. */
function waitResult(w: DurableWaitState, now: number): unknown {
  if (w.kind === 'sleep') return { durationMs: now - w.startedAt };
  const held = (w.conditions ?? []).flat().filter((c) => c.id in w.met);
  if (w.kind === 'waitForEvent') return held[0] ? w.met[held[0].id] : null;
  return Object.fromEntries(
    held.map((c) => [c.readableDataKey ?? c.id.slice(c.id.indexOf('.') + 1), w.met[c.id]]),
  );
}

/** Records the wait's result and queues the task again, once its child ended or its conditions hold. */
function resolveIfDone(turn: Turn, taskName: string, now: number) {
  const task = turn.state.tasks[taskName];
  const spec = taskSpec(turn.state, taskName);
  const w = task?.waiting;
  if (!w || !spec || task.status !== 'SUSPENDED') return;
  let result: unknown;
  if (w.childRunId !== undefined) {
    result = turn.state.childResults?.[w.childRunId];
    if (result === undefined) return;
  } else {
    if (!holds(w.conditions, turn.state, Object.keys(w.met))) return;
    result = waitResult(w, now);
  }
  endWaits(turn, taskName, [w.conditions]);
  turn.record({
    type: 'DurableCallRecorded',
    taskName,
    position: w.position,
    kind: w.kind,
    callKey: w.callKey,
    result,
    at: now,
  });
  queueTask(turn, spec, task.attempt, now, {
    position: w.position,
    result,
    preferredWorkerId: task.workerId,
  });
}

/** Whether a condition message is for a durable wait (rather than a workflow task's conditions). */
export function isForDurableWait(state: RunState, m: ConditionMessage): boolean {
  if (m.type === 'EventsChecked') return m.position !== undefined;
  return state.tasks[m.taskName]?.waiting !== undefined && m.conditionId.startsWith('d');
}

/** The wait a condition message is about, if the task still waits on it. */
function liveWait(state: RunState, m: ConditionMessage) {
  const task = state.tasks[m.taskName];
  const w = task?.waiting;
  if (
    !w ||
    task.status !== 'SUSPENDED' ||
    m.generation !== state.generation ||
    isTerminal(state.status) ||
    (m.type === 'EventsChecked' && m.position !== w.position)
  )
    return undefined;
  const view: WaitView = {
    conditions: (w.conditions ?? []).flat(),
    startedAt: w.startedAt,
    met: Object.keys(w.met),
  };
  return { w, view };
}

function hold(turn: Turn, taskName: string, conditionId: string, data: unknown, now: number) {
  turn.record({ type: 'ConditionMet', taskName, conditionId, data, at: now });
  resolveIfDone(turn, taskName, now);
}

export function conditionHeld(
  state: RunState,
  m: ConditionMessage,
  now: number,
): Decision<RunEvent, RunState> {
  const live = liveWait(state, m);
  if (!live) return noDecision;
  const { w, view } = live;
  const turn = new Turn(state, now);
  const target = { runId: state.runId, taskName: m.taskName, generation: state.generation };
  if (m.type === 'EventsChecked') {
    for (const h of heldInOrder(view, m.horizon, m.found)) {
      const still = turn.state.tasks[m.taskName].waiting;
      if (still?.position !== w.position) break;
      if (h.conditionId in still.met) continue;
      const data = h.event ? h.event.payload : { durationMs: now - w.startedAt };
      hold(turn, m.taskName, h.conditionId, data, now);
    }
    return turn.done();
  }
  const verdict = judge(view, m, now);
  if (verdict === 'ignore') return noDecision;
  if (verdict !== 'hold') {
    const check = { ...target, id: eventsCheckId(m.id), position: w.position };
    turn.effects.push(checkOf(view, { ...check, horizon: verdict.checkUpTo }));
    return turn.done();
  }
  const data = m.type === 'SleepElapsed' ? { durationMs: now - w.startedAt } : m.payload;
  hold(turn, m.taskName, m.conditionId, data, now);
  return turn.done();
}

export function childFinished(
  state: RunState,
  m: Extract<RunMessage, { type: 'ChildFinished' }>,
  now: number,
): Decision<RunEvent, RunState> {
  const childRunId = m.result.runId;
  if (!state.exists || isTerminal(state.status) || state.childResults?.[childRunId])
    return noDecision;
  const turn = new Turn(state, now);
  turn.record({ type: 'ChildFinished', childRunId, result: m.result, at: now });
  if (turn.state.tasks[m.taskName]?.waiting?.childRunId === childRunId)
    resolveIfDone(turn, m.taskName, now);
  return turn.done();
}
