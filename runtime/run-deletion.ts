/**
 * Deleting a finished run: its snapshot, its logs, its stored payloads and its journal entries, and the engine's
 * copy in memory. Nothing marks the deletion: afterwards the run's subjects are empty, as if
 * it never was, so `runs.get` finds no run and its idempotency key may create a new one.
 *
 * Order matters for a deletion cut short (the sweeper tries again): the snapshot goes first,
 * since a snapshot left without its journal would bring the run back; the journal last.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { isTerminal, type RunEntrySummary } from '../actors/run/index.js';
import { lastEntry } from './journal-entries.js';
import { deleteMessage, deleteMessages, kvStream, sequencesOf } from './message-deletes.js';
import { deleteRunPayloads } from './payloads.js';
import type { Names } from './protocol.js';
import { snapshotKey } from './subjects.js';

export interface RunDeletionDeps {
  jsm: JetStreamManager;
  names: Names;
  snapshots: KV;
  /** The run actor host of this engine: forgets what it holds of the run (and writes). */
  runs: { forget(runId: string): Promise<void> };
}

/**
 * Deletes run `runId`; `journalSeqs`, when the caller knows them (the run index does), spares
 * reading the run's subject. Entries found on the subject besides them are deleted too.
 * A run whose last entry does not say it finished is left alone (false): a running run's
 * entries are the scheduler's queue, and its state is what the run is.
 */
export async function deleteRun(
  deps: RunDeletionDeps,
  runId: string,
  journalSeqs?: readonly number[],
): Promise<boolean> {
  const { jsm, names } = deps;
  const last = await lastEntry(jsm, names, 'run', runId);
  const summary = last === 'unreadable' ? undefined : (last?.s as RunEntrySummary | undefined);
  if (last !== undefined && !(summary && isTerminal(summary.status))) return false;
  await deleteSnapshot(deps, 'run', runId);
  // The logs stream has no consumer (logs are read by direct gets), so a purge by subject is
  // safe there and takes one request however many lines the run logged. Should a durable
  // consumer ever read it, delete line by line instead (see message-deletes.ts).
  await jsm.streams.purge(names.streams.logs, { filter: names.logSubject(runId) });
  await deleteRunPayloads(jsm, names, runId);
  const stream = names.streams.journal;
  const subject = names.journalSubject('run', runId);
  const seqs = journalSeqs ?? (await sequencesOf(jsm, stream, subject));
  await deleteMessages(jsm, stream, seqs);
  // Anything appended after the caller listed the seqs (a late turn that recorded nothing new
  // still leaves no entry, but the list may simply be stale).
  const left = await sequencesOf(jsm, stream, subject);
  await deleteMessages(jsm, stream, left);
  // A snapshot written after the run's last turn (the turn does not wait for it) may land
  // after the first delete: its message would stay for as long as the bucket lives.
  await deps.runs.forget(runId);
  await deleteSnapshot(deps, 'run', runId);
  return true;
}

/**
 * Deletes an actor's snapshot without leaving a delete marker in the bucket (a KV delete
 * writes one, kept for as long as the bucket lives): its stream message is deleted instead.
 */
export async function deleteSnapshot(deps: RunDeletionDeps, type: string, actorId: string) {
  const entry = await deps.snapshots.get(snapshotKey(type, actorId));
  if (entry) await deleteMessage(deps.jsm, kvStream(deps.names.buckets.snapshots), entry.revision);
}
