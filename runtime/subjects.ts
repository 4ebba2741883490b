/**
 * Where things live on the bus: stream, bucket and subject names, the keys of the KV buckets,
 * and the tokens ids become in them. Each is built, and read back, here only.
 */
import { checkedId } from './bounds.js';

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
export const DEFAULT_NAMESPACE = 'skein';
export const PARTITIONS = 8;

export function validateNamespace(ns: string): string {
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(ns)) {
    throw new Error(`namespace '${ns}' is invalid: use 1-32 letters, digits, '_' or '-'`);
  }
  return ns;
}

/** A stable hash of an actor's address, so every process agrees on its partition. */
export function partitionOf(type: string, id: string, partitions = PARTITIONS): number {
  let h = 2166136261;
  const s = `${type}/${id}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0) % partitions;
}

const hex = (s: string) => Buffer.from(s).toString('hex');

/** Subject tokens may not contain these; ids that do are hex-encoded. Ids are bounded first. */
export function subjectToken(id: string): string {
  checkedId('id', id);
  return /^[A-Za-z0-9_:-]+$/.test(id) ? id : `x-${hex(id)}`;
}

/** The id a subject token (or a key made of one) stands for. */
export function idFromToken(token: string): string {
  return token.startsWith('x-') ? Buffer.from(token.slice(2), 'hex').toString() : token;
}

/** The actor id in a journal subject, `<ns>.j.<type>.<token>`. */
export const idOfJournalSubject = (subject: string) =>
  idFromToken(subject.split('.').slice(3).join('.'));

/** The actor type and id in an inbox subject, `<ns>.in.<partition>.<type>.<token>`. */
export function actorOfInboxSubject(subject: string): { type: string; id: string } {
  const tokens = subject.split('.');
  return { type: tokens[3], id: idFromToken(tokens.slice(4).join('.')) };
}

/**
 * The shape of an actor type's state when it changed since 0.1.0: snapshots are kept under a key
 * of that shape, so no release reads a snapshot of another shape (it reads the journal instead).
 * run 2: a durable task's recorded calls are no longer in the state, only their count.
 */
const SNAPSHOT_SHAPES: Readonly<Record<string, number>> = { run: 2 };

/** KV keys allow fewer characters than subjects (no ':'): other ids are hex-encoded. */
export function snapshotKey(type: string, actorId: string) {
  const token = /^[A-Za-z0-9_-]+$/.test(actorId) ? actorId : `x-${hex(actorId)}`;
  const shape = SNAPSHOT_SHAPES[type];
  return shape ? `${type}.v${shape}.${token}` : `${type}.${token}`;
}

/** Where a task or workflow's registration is kept in the registry bucket. */
export const registryKey = (name: string) => `t.${hex(name)}`;

/** The worker id a key of the workers bucket (`w.<token>`) names. */
export const workerOfKey = (key: string) => idFromToken(key.slice(2));

export function names(ns: string) {
  const NS = ns.toUpperCase().replace(/-/g, '_');
  return {
    ns,
    streams: {
      journal: `${NS}_JOURNAL`,
      inbox: `${NS}_INBOX`,
      timers: `${NS}_TIMERS`,
      logs: `${NS}_LOGS`,
      events: `${NS}_EVENTS`,
      /** Which stored payload objects each run owns (runtime/payloads.ts). */
      payloadIndex: `${NS}_PAYLOAD_INDEX`,
    },
    buckets: {
      leases: `${NS}_leases`,
      registry: `${NS}_registry`,
      workers: `${NS}_workers`,
      snapshots: `${NS}_snapshots`,
      rateLimits: `${NS}_ratelimits`,
      /** Object stores: payloads owned by runs, and by events (these expire with the events). */
      payloads: `${NS}_payloads`,
      eventPayloads: `${NS}_event_payloads`,
      /** An object store: the run index's checkpoint (runtime/run-index/checkpoint.ts). */
      runIndex: `${NS}_runindex`,
    },
    journalSubject: (type: string, id: string) => `${ns}.j.${type}.${subjectToken(id)}`,
    journalAll: (type: string) => `${ns}.j.${type}.>`,
    inboxSubject: (type: string, id: string, partitions = PARTITIONS) =>
      `${ns}.in.${partitionOf(type, id, partitions)}.${type}.${subjectToken(id)}`,
    inboxPartition: (p: number) => `${ns}.in.${p}.>`,
    /** Core subject where the engine serving a partition takes messages directly (see runtime/mailbox.ts). */
    directSubject: (type: string, id: string, partitions = PARTITIONS) =>
      `${ns}.dm.${partitionOf(type, id, partitions)}`,
    directPartition: (p: number) => `${ns}.dm.${p}`,
    timerSubject: `${ns}.t`,
    logSubject: (runId: string) => `${ns}.log.${subjectToken(runId)}`,
    /** Lists the names of the payload objects a run owns, one message each. */
    payloadIndexSubject: (runId: string) => `${ns}.pi.${subjectToken(runId)}`,
    payloadIndexAll: `${ns}.pi.>`,
    eventSubject: (key: string) => `${ns}.ev.${subjectToken(key)}`,
    eventsAll: `${ns}.ev.>`,
    runFinished: (runId: string) => `${ns}.done.${subjectToken(runId)}`,
    /** Core subject (not stored) where a run's tasks publish `ctx.putStream` chunks. */
    runStream: (runId: string) => `${ns}.stream.${subjectToken(runId)}`,
    /** Where one client hears about the end of the runs it triggered. */
    clientNotify: (clientId: string) => `${ns}.notify.${clientId}`,
    schedulerRejected: `${ns}.sched.rejected`,
    schedulerFinished: `${ns}.sched.finished`,
    api: (op: string) => `${ns}.api.${op}`,
    leaderApi: (op: string) => `${ns}.leader.${op}`,
    /** Where one engine instance answers while it lives (runtime/liveness.ts). */
    enginePresence: (instance: string) => `${ns}.engine.${instance}`,
    workerKey: (workerId: string) => `w.${subjectToken(workerId)}`,
    rateLimitKey: (key: string) => `r.${hex(key)}`,
    workerDispatch: (workerId: string) => `${ns}.w.${subjectToken(workerId)}.dispatch`,
    workerCancel: (workerId: string) => `${ns}.w.${subjectToken(workerId)}.cancel`,
  };
}
export type Names = ReturnType<typeof names>;

/** A payload object's name: its owner (a run or an event id) first, then a part unique to it. */
export const payloadObjectName = (ownerId: string, part: string) => `${ownerId}/${part}`;

/** The subjects an object store keeps an object's metadata and chunks on (@nats-io/obj 3.4's layout). */
export const objectMetaSubject = (bucket: string, name: string) =>
  `$O.${bucket}.M.${Buffer.from(name).toString('base64').replace(/\+/g, '-').replace(/\//g, '_')}`;
export const objectStream = (bucket: string) => `OBJ_${bucket}`;
export const objectStreamSubjects = (bucket: string) => [`$O.${bucket}.C.>`, `$O.${bucket}.M.>`];
export const objectChunkSubject = (bucket: string, nuid: string) => `$O.${bucket}.C.${nuid}`;
