/**
 * A workflow task waiting on its conditions (`waitFor`, `skipIf`, `cancelIf` together, one
 * wait that began when the task started waiting): events and sleeps hold in the time of the
 * events (see event-time.ts), and each one that holds may queue, skip or cancel the task.
 */
import { noDecision, type Decision } from '../actor.js';
import type { RunEvent } from './events.js';
import { checkOf, heldInOrder, judge, type WaitView } from './event-time.js';
import type { RunMessage } from './messages.js';
import { finish, startConditions, taskSpec } from './progress.js';
import { advance, queueReady } from './readiness.js';
import { Turn } from './turn.js';
import type { TaskSpec } from './spec.js';
import { isTerminal, type RunState } from './state.js';
import { eventsCheckId } from '../ids.js';

type ConditionMessage = Extract<
  RunMessage,
  { type: 'SleepElapsed' | 'EventReceived' | 'EventsChecked' }
>;

/** The task a condition message is for, if it still waits on its conditions. */
function waitingTask(state: RunState, m: ConditionMessage) {
  const task = state.tasks[m.taskName];
  const spec = taskSpec(state, m.taskName);
  if (
    !spec ||
    isTerminal(state.status) ||
    task?.status !== 'WAITING' ||
    m.generation !== state.generation
  )
    return undefined;
  const view: WaitView = {
    conditions: startConditions(spec).flatMap((expr) => (expr ?? []).flat()),
    startedAt: task.waitingSince ?? state.createdAt,
    met: task.met ?? [],
  };
  return { spec, view };
}

const stillWaiting = (turn: Turn, spec: TaskSpec) =>
  turn.state.tasks[spec.name]?.status === 'WAITING';

function hold(turn: Turn, spec: TaskSpec, conditionId: string, now: number) {
  turn.record({ type: 'ConditionMet', taskName: spec.name, conditionId, at: now });
  advance(turn, spec, now);
}

/** After conditions held: tasks that became ready move on, and the run may end. */
function moveOn(turn: Turn, now: number): Decision<RunEvent, RunState> {
  queueReady(turn, now);
  finish(turn, now);
  return turn.done();
}

export function taskConditionHeld(
  state: RunState,
  m: ConditionMessage,
  now: number,
): Decision<RunEvent, RunState> {
  const waiting = waitingTask(state, m);
  if (!waiting) return noDecision;
  const { spec, view } = waiting;
  const turn = new Turn(state, now);
  if (m.type === 'EventsChecked') {
    if (m.position !== undefined) return noDecision;
    for (const h of heldInOrder(view, m.horizon, m.found)) {
      if (!stillWaiting(turn, spec)) break;
      if (!turn.state.tasks[spec.name].met?.includes(h.conditionId))
        hold(turn, spec, h.conditionId, now);
    }
    return moveOn(turn, now);
  }
  const verdict = judge(view, m, now);
  if (verdict === 'ignore') return noDecision;
  if (verdict !== 'hold') {
    const target = { runId: state.runId, taskName: spec.name, generation: state.generation };
    const check = { ...target, id: eventsCheckId(m.id), horizon: verdict.checkUpTo };
    turn.effects.push(checkOf(view, check));
    return turn.done();
  }
  hold(turn, spec, m.conditionId, now);
  return moveOn(turn, now);
}
