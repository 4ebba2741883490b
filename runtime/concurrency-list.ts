/**
 * concurrency.list: every concurrency group (one per limit and key) with its holders and
 * waiters. The groups are the concurrency actors with a journal; each one's state is read as
 * its actor host reads it (snapshot, then the journal after it).
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import type { ConcurrencyEvent } from '../actors/concurrency/events.js';
import type { ConcurrencyMessage } from '../actors/concurrency/messages.js';
import type { ConcurrencyState } from '../actors/concurrency/state.js';
import type { Holder } from '../actors/concurrency/events.js';
import { concurrencyGroupOf } from '../actors/ids.js';
import type { ActorHost } from './actor-host.js';
import type { Names } from './protocol.js';
import type { ConcurrencyKeyView } from './protocol-api.js';
import { idOfJournalSubject } from './subjects.js';

export type ConcurrencyGroups = ActorHost<ConcurrencyState, ConcurrencyMessage, ConcurrencyEvent>;

const READS_AT_ONCE = 16;

const runIdsOf = (holders: Holder[]) => [...new Set(holders.map((h) => h.runId))];

export async function listConcurrency(
  jsm: JetStreamManager,
  names: Names,
  groups: ConcurrencyGroups,
): Promise<ConcurrencyKeyView[]> {
  const info = await jsm.streams.info(names.streams.journal, {
    subjects_filter: names.journalAll('concurrency'),
  });
  const ids = Object.keys(info.state.subjects ?? {}).map(idOfJournalSubject);
  const out: ConcurrencyKeyView[] = [];
  for (let i = 0; i < ids.length; i += READS_AT_ONCE) {
    await Promise.all(
      ids.slice(i, i + READS_AT_ONCE).map(async (groupId) => {
        const { state } = await groups.read(groupId);
        const made = concurrencyGroupOf(groupId);
        out.push({
          group: made?.scope ?? groupId,
          key: made?.key ?? '',
          maxRuns: state.maxRuns,
          strategy: state.strategy,
          holders: runIdsOf(state.running),
          waiters: runIdsOf(state.waiting),
        });
      }),
    );
  }
  const order = (v: ConcurrencyKeyView) => `${v.group}\u0000${v.key}`;
  return out.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
}
