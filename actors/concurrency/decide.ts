/**
 * A concurrency group's decisions. At most `maxRuns` holders run at once; what happens to a
 * newcomer when all slots are taken depends on the strategy:
 *   GROUP_ROUND_ROBIN   it waits its turn (first come, first served within the key);
 *   CANCEL_IN_PROGRESS  it wins: the oldest holders (and older waiters) are cancelled;
 *   CANCEL_NEWEST       it loses: its run is cancelled, the running ones finish.
 * Fairness across keys follows from each key having its own group.
 */
import { noDecision, type Decision } from '../actor.js';
import type { Effect } from '../effects.js';
import type { ConcurrencyEvent, Holder } from './events.js';
import type { ConcurrencyMessage } from './messages.js';
import { evolveConcurrency, type ConcurrencyState } from './state.js';
import { concurrencyCancelId, grantedId, keyOfGroup } from '../ids.js';

type Acquire = Extract<ConcurrencyMessage, { type: 'Acquire' }>;

class GroupTurn {
  events: ConcurrencyEvent[] = [];
  effects: Effect[] = [];
  constructor(public state: ConcurrencyState) {}
  record(event: ConcurrencyEvent) {
    this.events.push(event);
    this.state = evolveConcurrency(this.state, event);
  }
  done(): Decision<ConcurrencyEvent, ConcurrencyState> {
    return { events: this.events, effects: this.effects, state: this.state };
  }
}

function tellRun(
  turn: GroupTurn,
  runId: string,
  message: { id: string; type: string } & Record<string, unknown>,
) {
  turn.effects.push({ type: 'send', to: { type: 'run', id: runId }, message });
}

function grant(turn: GroupTurn, holder: Holder) {
  turn.record({ type: 'SlotGranted', ...holder });
  tellRun(turn, holder.runId, {
    type: 'ConcurrencyGranted',
    id: grantedId(turn.state.groupId, holder.holder),
    groupId: turn.state.groupId,
    holder: holder.holder,
  });
}

function cancel(turn: GroupTurn, holder: Holder, why: string, now: number) {
  turn.record({ type: 'HolderCancelled', holder: holder.holder, runId: holder.runId, at: now });
  tellRun(turn, holder.runId, {
    type: 'Cancel',
    id: concurrencyCancelId(holder.runId, turn.state.groupId),
    reason: why,
  });
}

function acquire(state: ConcurrencyState, m: Acquire, now: number) {
  const known = [...state.running, ...state.waiting].some((h) => h.holder === m.holder);
  if (known) return noDecision;
  const turn = new GroupTurn(state);
  if (state.maxRuns !== m.maxRuns || state.strategy !== m.strategy)
    turn.record({ type: 'LimitSet', maxRuns: m.maxRuns, strategy: m.strategy });
  const newcomer: Holder = { holder: m.holder, runId: m.runId, since: now };
  const s = turn.state;
  // Waiters told to cancel are on their way out: they hold no place in line.
  const inLine = s.waiting.filter((h) => !s.cancelling.includes(h.holder));
  if (s.running.length < s.maxRuns && inLine.length === 0) {
    grant(turn, newcomer);
    return turn.done();
  }
  if (s.strategy === 'CANCEL_NEWEST') {
    turn.record({ type: 'SlotRefused', holder: m.holder, runId: m.runId, at: now });
    tellRun(turn, m.runId, {
      type: 'Cancel',
      id: concurrencyCancelId(m.runId, s.groupId),
      reason: `cancelled by concurrency limit (CANCEL_NEWEST): ${s.maxRuns} of key '${keyOfGroup(s.groupId)}' already running`,
    });
    return turn.done();
  }
  turn.record({ type: 'SlotQueued', ...newcomer });
  if (s.strategy === 'CANCEL_IN_PROGRESS') {
    const why = `cancelled by concurrency limit (CANCEL_IN_PROGRESS): a newer run of key '${keyOfGroup(s.groupId)}' started`;
    for (const older of s.waiting) cancel(turn, older, why, now);
    const stillRunning = s.running.filter((h) => !s.cancelling.includes(h.holder));
    for (const oldest of stillRunning.slice(0, Math.max(0, stillRunning.length - s.maxRuns + 1)))
      cancel(turn, oldest, why, now);
  }
  return turn.done();
}

function release(state: ConcurrencyState, holder: string) {
  const wasRunning = state.running.some((h) => h.holder === holder);
  if (!wasRunning && !state.waiting.some((h) => h.holder === holder)) return noDecision;
  const turn = new GroupTurn(state);
  turn.record({ type: 'SlotReleased', holder });
  // Cancelled waiters are on their way out: the next in line is the first one still wanted.
  for (const next of turn.state.waiting) {
    if (turn.state.running.length >= turn.state.maxRuns) break;
    if (turn.state.cancelling.includes(next.holder)) continue;
    grant(turn, next);
  }
  return turn.done();
}

export function decideConcurrency(
  state: ConcurrencyState,
  message: ConcurrencyMessage,
  now: number,
): Decision<ConcurrencyEvent, ConcurrencyState> {
  switch (message.type) {
    case 'Acquire':
      return acquire(state, message, now);
    case 'Release':
      return release(state, message.holder);
  }
}
