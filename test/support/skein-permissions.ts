/**
 * The least-privilege NATS permissions of docs/API.md ("Security"), per role, for one
 * namespace: the test that runs Skein under them keeps the docs honest.
 */
import type { Permissions } from './nats-credentials.js';
import { names } from '../../runtime/protocol.js';

const BUCKETS = ['leases', 'registry', 'workers', 'snapshots', 'ratelimits'];

export function enginePermissions(ns: string): Permissions {
  const NS = ns.toUpperCase().replace(/-/g, '_');
  const all = [
    `${ns}.>`,
    '$JS.API.>',
    '$JS.ACK.>',
    '_INBOX.>',
    ...BUCKETS.map((b) => `$KV.${NS}_${b}.>`),
    // The object stores: a run triggered by a large event gets its own copy of the payload.
    `$O.${NS}_payloads.>`,
    `$O.${NS}_event_payloads.>`,
    `$JS.FC.OBJ_${NS}_event_payloads.>`,
    `$O.${names(ns).buckets.runIndex}.>`,
  ];
  // A consumer's new leader in a cluster is announced here (runtime/consumer-moves.ts).
  const advisories = Object.values(names(ns).streams).map(
    (stream) => `$JS.EVENT.ADVISORY.CONSUMER.LEADER_ELECTED.${stream}.*`,
  );
  return { publish: all, subscribe: [...all, ...advisories] };
}

/** What any SDK process needs: connect, open the namespace's buckets, ask the engine. */
export function readerPermissions(ns: string): Permissions {
  const NS = ns.toUpperCase().replace(/-/g, '_');
  return {
    publish: [
      '$JS.API.INFO',
      `$JS.API.STREAM.INFO.${NS}_JOURNAL`,
      `$JS.API.STREAM.INFO.KV_${NS}_registry`,
      `$JS.API.STREAM.INFO.KV_${NS}_workers`,
      `$JS.API.STREAM.MSG.GET.KV_${NS}_registry`,
      `$JS.API.DIRECT.GET.KV_${NS}_registry.>`,
      // Declared crons are read back by their journal subject (last_by_subj).
      `$JS.API.DIRECT.GET.${NS}_JOURNAL.${ns}.j.cron.>`,
      `${ns}.api.>`,
      `${ns}.dm.>`,
      // Where a message to an actor goes when no engine takes it directly.
      `${ns}.in.>`,
    ],
    subscribe: ['_INBOX.>', `${ns}.notify.>`, `${ns}.done.>`],
  };
}

/** A worker; `startsRuns` when its tasks start runs (child runs, `skein.run` in a task). */
export function workerPermissions(ns: string, opts: { startsRuns?: boolean } = {}): Permissions {
  const NS = ns.toUpperCase().replace(/-/g, '_');
  const base = readerPermissions(ns);
  return {
    publish: [
      ...base.publish,
      `$KV.${NS}_registry.>`,
      `$KV.${NS}_workers.>`,
      `${ns}.log.>`,
      `${ns}.sched.>`,
      // ctx.putStream.
      `${ns}.stream.>`,
      ...(opts.startsRuns ? [`${ns}.j.run.>`] : []),
    ],
    subscribe: [...base.subscribe, `${ns}.w.>`],
  };
}

/** A client that triggers runs, pushes events, reads runs and upserts rate limits. */
export function clientPermissions(ns: string): Permissions {
  const NS = ns.toUpperCase().replace(/-/g, '_');
  const base = readerPermissions(ns);
  return {
    publish: [
      ...base.publish,
      `${ns}.j.run.>`,
      `${ns}.ev.>`,
      `$JS.API.DIRECT.GET.${NS}_JOURNAL.${ns}.j.schedule.>`,
      // runs.subscribeToStream and runs.cancel read a run's last journal entry.
      `$JS.API.DIRECT.GET.${NS}_JOURNAL.${ns}.j.run.>`,
      `$KV.${NS}_ratelimits.>`,
    ],
    // runs.subscribeToStream.
    subscribe: [...base.subscribe, `${ns}.stream.>`],
  };
}

/**
 * What a worker or client adds to store and read values over the inline limit (docs/API.md,
 * "Large payloads"): the object stores' subjects, the run index, and the JetStream API calls an
 * object's upload and read make. `pushesEvents`: a client that pushes large event payloads.
 */
export function largePayloadPermissions(ns: string, opts: { pushesEvents?: boolean } = {}) {
  const NS = ns.toUpperCase().replace(/-/g, '_');
  const stores = [`${NS}_payloads`, ...(opts.pushesEvents ? [`${NS}_event_payloads`] : [])];
  return [
    `${ns}.pi.>`,
    ...stores.flatMap((b) => [
      `$O.${b}.>`,
      `$JS.API.STREAM.MSG.GET.OBJ_${b}`,
      `$JS.API.CONSUMER.CREATE.OBJ_${b}.>`,
      // Reads go through an ordered consumer, whose flow control the reader answers.
      `$JS.FC.OBJ_${b}.>`,
      // Only when an upload fails: its chunks are purged.
      `$JS.API.STREAM.PURGE.OBJ_${b}`,
    ]),
  ];
}
