/**
 * Payloads of any reasonable size. A value whose encoding is over the inline limit (256 KB, or
 * less where the server's max_payload is small) is stored as an object in the namespace's object
 * store and travels as a PayloadRef; whoever needs the value reads it back (`resolve`). A run's
 * objects are named after it and listed on its index subject, so deleting them reads that one
 * subject (`deleteRunPayloads`); an event's objects are in a bucket whose age limit follows the
 * events stream's. The reference is handed out only once the object is stored, so whatever holds
 * one holds a complete value.
 */
import { randomUUID } from 'node:crypto';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { decode, encode } from './codec.js';
import { ConnectionError, ValidationError } from './errors.js';
import { formatHeaders } from './format.js';
import { PayloadRef, replaceRefs } from './payload-ref.js';
import { readSubject } from './stream-reads.js';
import { refusal } from './permissions.js';
import type { RunSpec } from '../actors/run/spec.js';
import {
  objectChunkSubject,
  objectMetaSubject,
  objectStream,
  payloadObjectName,
  type Names,
} from './subjects.js';

/** Values encoded larger than this are stored as objects. */
export const INLINE_PAYLOAD_BYTES = 256 * 1024;
/** The largest value a run may take, return, record or log, by default (`maxPayloadBytes`). */
export const DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;
/** Room for the rest of a message around the values it carries. */
const MESSAGE_OVERHEAD_BYTES = 4096;
/**
 * How long one object read or write may take before it fails, plus a second per MB: the object
 * store's client waits forever for chunks that never come (NATS refused the subscription, or
 * the object's chunks were purged before its metadata).
 */
export const OBJECT_WAIT_MS = 30_000;
const objectWaitMs = (baseMs: number, bytes: number) =>
  baseMs + Math.ceil(bytes / (1024 * 1024)) * 1000;

/**
 * What may stay inline on a server with this max_payload: a journal entry holds one turn, which
 * may carry a value up to three times (a task's output, the run's, the end notice).
 */
export const inlineLimit = (serverMaxPayload: number) =>
  Math.min(INLINE_PAYLOAD_BYTES, Math.floor((serverMaxPayload - MESSAGE_OVERHEAD_BYTES) / 3));

export function checkMaxPayloadBytes(value: unknown, where: string): number {
  if (value === undefined) return DEFAULT_MAX_PAYLOAD_BYTES;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw new ValidationError(
      `${where}: maxPayloadBytes must be a positive whole number of bytes, got ${JSON.stringify(value)}`,
    );
  return value;
}

/** A reference whose object is gone: its run was deleted, or its event expired. */
export class PayloadGoneError extends Error {
  constructor(name: string) {
    super(`the stored payload '${name}' is gone (its run was deleted, or its event expired)`);
  }
}

/**
 * A run's turns store some values several times: the creating turn stores the input in the
 * trigger and in each task it queues at once, and a workflow's last turn holds every task's
 * output together (in its end and in the end notice). Each such value gets its share of the
 * three inline values an entry may hold.
 */
export function inputInlineLimit(inlineBytes: number, spec: RunSpec): number {
  const queuedAtOnce = spec.tasks.filter((t) => !t.parents?.length && !t.role).length;
  return Math.min(inlineBytes, Math.floor((3 * inlineBytes) / (1 + Math.max(1, queuedAtOnce))));
}

export function outputInlineLimit(inlineBytes: number, spec: RunSpec | undefined): number {
  if (spec?.kind !== 'workflow') return inlineBytes;
  return Math.floor(inlineBytes / Math.max(1, spec.tasks.length));
}

/** Whom a stored payload belongs to: it is deleted with its run, or expires with its event. */
export type PayloadOwner = { runId: string } | { eventId: string };

export class Payloads {
  private readonly stores = new Map<PayloadRef['store'], Promise<ObjectStore>>();
  readonly inlineBytes: number;

  constructor(
    private readonly js: JetStreamClient,
    private readonly names: Names,
    /** Refused above this, with a ValidationError naming it. */
    readonly maxPayloadBytes: number,
    private readonly serverMaxPayload: number,
    private readonly objectWaitMs = OBJECT_WAIT_MS,
  ) {
    this.inlineBytes = inlineLimit(serverMaxPayload);
  }

  /** Throws the ValidationError for a value of `bytes` over the limit; `what` names the value. */
  checkSize(bytes: number, what: string) {
    if (bytes > this.maxPayloadBytes)
      throw new ValidationError(
        `${what} is ${bytes} bytes encoded, over the limit of ${this.maxPayloadBytes} bytes (maxPayloadBytes)`,
      );
  }

  /**
   * `value` itself when it is small, else a reference to it stored as an object of `owner`.
   * Resolves once the object is stored in full. `encoded`: its encoding, when the caller has it.
   */
  async offload(
    value: unknown,
    owner: PayloadOwner,
    what: string,
    encoded = encode(value),
    inlineBytes = this.inlineBytes,
  ): Promise<unknown> {
    if (encoded.length <= inlineBytes) return value;
    this.checkSize(encoded.length, what);
    const part = randomUUID();
    if ('runId' in owner) {
      const name = payloadObjectName(owner.runId, part);
      await this.put('run', name, encoded, owner.runId);
      return new PayloadRef('run', name, encoded.length);
    }
    const name = payloadObjectName(owner.eventId, part);
    await this.put('event', name, encoded);
    return new PayloadRef('event', name, encoded.length);
  }

  /** The value a reference stands for. */
  async read(ref: PayloadRef): Promise<unknown> {
    this.checkSize(ref.bytes, `the stored payload '${ref.name}'`);
    const os = await this.store(ref.store);
    const bytes = await this.bounded(refused(os.getBlob(ref.name)), 'reading', ref.name, ref.bytes);
    if (!bytes) throw new PayloadGoneError(ref.name);
    return decode(bytes);
  }

  /** `value` with every reference in it read back. */
  resolve<T>(value: T): Promise<T> {
    return replaceRefs(value, (ref) => this.read(ref)) as Promise<T>;
  }

  /**
   * `value` for run `runId`: an event's object copied to an object of the run (named by
   * `part`, so a repeated copy stores nothing), as a run may outlive the event that brought it
   * a payload; an inline value over `inlineBytes` stored as one.
   */
  async adopt(
    value: unknown,
    runId: string,
    part: string,
    inlineBytes = this.inlineBytes,
  ): Promise<unknown> {
    if (!(value instanceof PayloadRef)) {
      const encoded = encode(value);
      if (encoded.length <= inlineBytes) return value;
      const name = payloadObjectName(runId, part);
      await this.put('run', name, encoded, runId);
      return new PayloadRef('run', name, encoded.length);
    }
    if (value.store !== 'event') return value;
    const name = payloadObjectName(runId, part);
    const runs = await this.store('run');
    const have = await runs.info(name);
    if (!have || have.deleted) {
      this.checkSize(value.bytes, `the payload of event object '${value.name}'`);
      const events = await this.store('event');
      const bytes = await this.bounded(
        events.getBlob(value.name),
        'reading',
        value.name,
        value.bytes,
      );
      if (!bytes) throw new PayloadGoneError(value.name);
      await this.put('run', name, bytes, runId);
    }
    return new PayloadRef('run', name, value.bytes);
  }

  /** Lists the object on its run's index before storing it: a crash between leaves no object unlisted. */
  private async put(store: PayloadRef['store'], name: string, bytes: Uint8Array, runId?: string) {
    if (runId !== undefined)
      await refused(
        this.js.publish(this.names.payloadIndexSubject(runId), encode(name), {
          headers: formatHeaders(),
        }),
      );
    const os = await this.store(store);
    const chunk = Math.min(1024 * 1024, this.serverMaxPayload - MESSAGE_OVERHEAD_BYTES);
    const put = refused(os.putBlob({ name, options: { max_chunk_size: chunk } }, bytes));
    await this.bounded(put, 'storing', name, bytes.length);
  }

  /** `p`, or a ConnectionError naming the object (so its run or event) once it took too long. */
  private bounded<T>(p: Promise<T>, doing: string, name: string, bytes: number): Promise<T> {
    const ms = objectWaitMs(this.objectWaitMs, bytes);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ConnectionError(
              `${doing} the stored payload '${name}' (of run or event '${name.split('/')[0]}') did not finish within ${ms} ms`,
            ),
          ),
        ms,
      );
    });
    p.catch(() => {}); // a late failure after the timeout is not unhandled
    return Promise.race([p, late]).finally(() => clearTimeout(timer));
  }

  private store(which: PayloadRef['store']): Promise<ObjectStore> {
    let os = this.stores.get(which);
    if (!os) {
      const bucket =
        which === 'run' ? this.names.buckets.payloads : this.names.buckets.eventPayloads;
      os = new Objm(this.js).open(bucket, false);
      this.stores.set(which, os);
      // Opening asks JetStream for its account info: one that failed (NATS was down) is tried again.
      os.catch(() => this.stores.delete(which));
    }
    return os;
  }
}

/** A permission NATS refused comes out as the ConnectionError naming it (docs/API.md, "Security"). */
const refused = <T>(p: Promise<T>): Promise<T> =>
  p.catch((err: unknown) => {
    throw refusal(err) ?? err;
  });

/**
 * Deletes every payload object run `runId` owns, and its index; returns how many objects were
 * deleted. Leaves nothing behind in the object store's stream: the chunks and the metadata
 * subject are purged (no durable consumer reads that stream, so purging by subject is safe
 * there; see docs/DESIGN.md, traps), and so is the run's index subject.
 */
export async function deleteRunPayloads(
  jsm: JetStreamManager,
  names: Names,
  runId: string,
): Promise<number> {
  const indexSubject = names.payloadIndexSubject(runId);
  const listed = await readSubject(jsm, names.streams.payloadIndex, indexSubject);
  const objects = new Set(listed.map((m) => decode<string>(m.data)));
  const bucket = names.buckets.payloads;
  const stream = objectStream(bucket);
  let deleted = 0;
  for (const name of objects) {
    const meta = objectMetaSubject(bucket, name);
    const info = await jsm.direct.getMessage(stream, { last_by_subj: meta });
    if (!info) continue;
    const { nuid } = info.json<{ nuid: string }>();
    // Chunks first: a crash before the metadata goes leaves the object listed, to delete again.
    await jsm.streams.purge(stream, { filter: objectChunkSubject(bucket, nuid) });
    await jsm.streams.purge(stream, { filter: meta });
    deleted++;
  }
  if (objects.size > 0)
    await jsm.streams.purge(names.streams.payloadIndex, { filter: indexSubject });
  return deleted;
}
