/**
 * A run's first turn, taken by the client that triggers it. Creating a run needs nothing but
 * the trigger (no earlier state), so the client can decide it with the run actor's own pure
 * `decide` and append it with expected sequence 0: the journal accepts exactly one creation
 * per run id, and the engine reads the new run from the journal like any other entry. This
 * spares the engine a turn and a round trip per run.
 */
import { runActor, type RunMessage } from '../actors/run/index.js';
import { encode } from './codec.js';
import type { JournalEntry } from './journal-entries.js';
import type { Names } from './protocol.js';
import { PublishError, type Requester } from './requester.js';

export type TriggerMessage = Extract<RunMessage, { type: 'Trigger' }>;

function creationEntry(trigger: TriggerMessage, now: number): JournalEntry {
  const { events, effects, state } = runActor.decide(runActor.initial(trigger.runId), trigger, now);
  return {
    m: trigger.id,
    at: now,
    ev: events,
    fx: effects,
    s: runActor.summarize?.(state ?? runActor.initial(trigger.runId)),
  };
}

/** Stores the run's creation; resolves too when the run exists already (a repeated key). */
export async function createRun(
  requester: Requester,
  names: Names,
  trigger: TriggerMessage,
  now: number,
): Promise<void> {
  try {
    await requester.publish(
      names.journalSubject('run', trigger.runId),
      encode(creationEntry(trigger, now)),
      {
        expectLastSubjectSequence: 0,
      },
    );
  } catch (err) {
    if (err instanceof PublishError && err.message.includes('wrong last sequence')) return;
    throw err;
  }
}
