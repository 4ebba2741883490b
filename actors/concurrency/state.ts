/** A concurrency group's state: who holds its slots and who waits, oldest first. */
import { assertNever } from '../actor.js';
import type { ConcurrencyEvent, Holder } from './events.js';
import type { ConcurrencyStrategy } from './messages.js';

export interface ConcurrencyState {
  groupId: string;
  maxRuns: number;
  strategy: ConcurrencyStrategy;
  running: Holder[];
  waiting: Holder[];
  /** Holders told to cancel whose release has not come yet. */
  cancelling: string[];
}

export function initialConcurrencyState(groupId: string): ConcurrencyState {
  return {
    groupId,
    maxRuns: 1,
    strategy: 'GROUP_ROUND_ROBIN',
    running: [],
    waiting: [],
    cancelling: [],
  };
}

const without = (list: Holder[], holder: string) => list.filter((h) => h.holder !== holder);

export function evolveConcurrency(
  state: ConcurrencyState,
  event: ConcurrencyEvent,
): ConcurrencyState {
  switch (event.type) {
    case 'LimitSet':
      return { ...state, maxRuns: event.maxRuns, strategy: event.strategy };
    case 'SlotGranted': {
      const { type: _type, ...holder } = event;
      return {
        ...state,
        waiting: without(state.waiting, event.holder),
        running: [...state.running, holder],
      };
    }
    case 'SlotQueued': {
      const { type: _type, ...holder } = event;
      return { ...state, waiting: [...state.waiting, holder] };
    }
    case 'HolderCancelled':
      return { ...state, cancelling: [...state.cancelling, event.holder] };
    case 'SlotRefused':
      return state;
    case 'SlotReleased':
      return {
        ...state,
        running: without(state.running, event.holder),
        waiting: without(state.waiting, event.holder),
        cancelling: state.cancelling.filter((h) => h !== event.holder),
      };
    default:
      return assertNever(event, 'concurrency event');
  }
}
