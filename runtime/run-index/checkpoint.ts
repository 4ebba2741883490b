/**
 * The run index's checkpoint: every record and the journal sequence they fold up to, one object
 * in the namespace's run-index object store. A new leader loads it and reads the journal from
 * the sequence after it, instead of the whole journal.
 *
 * The records are encoded a slice at a time as the object store takes them, and stored as a
 * stream of slices (a header, then each slice, each after its length), so no step copies the
 * whole checkpoint (~30 MB for 100,000 runs) at once: one that did stalled the engine's event
 * loop for a few hundred milliseconds. Records changed meanwhile are stored as they are when
 * their slice is encoded, so some are past `seq`: the store skips an entry its record already
 * holds (RunIndexStore.apply).
 */
import type { ObjectStore } from '@nats-io/obj';
import { decode, decodeTable, encode, encodeTable } from '../codec.js';
import type { IndexedRun } from './fold.js';

const OBJECT = 'checkpoint';
/** The checkpoint's own layout; one that does not match is ignored (the journal is read whole). */
const LAYOUT = 4;
/** Layout 4 starts with these bytes (a layout 3 checkpoint, one msgpack map, never does). */
const MAGIC = Buffer.from('SKC4');
const RECORDS_PER_SLICE = 1_000;

export interface Checkpoint {
  seq: number;
  runs: IndexedRun[];
}

interface Header {
  layout: number;
  seq: number;
}

/** Layout 3, still read: one msgpack map holding every slice. */
interface StoredWhole extends Header {
  /** Each an encoded array of records. */
  slices: Uint8Array[];
}

const yieldToOthers = () => new Promise<void>((resolve) => setImmediate(resolve));

/** `bytes` after its length (4 bytes, big-endian). */
function framed(bytes: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(4 + bytes.length);
  out.writeUInt32BE(bytes.length, 0);
  out.set(bytes, 4);
  return out;
}

/** Stores the records (those of `seq`, or later); resolves to the bytes stored. */
export async function saveCheckpoint(
  store: ObjectStore,
  seq: number,
  records: Iterable<IndexedRun>,
): Promise<number> {
  const runs = [...records];
  let next = 0;
  let bytes = 0;
  const header = Buffer.concat([MAGIC, framed(encode({ layout: LAYOUT, seq } satisfies Header))]);
  // Pulled a slice at a time: each encoded only once the store has taken the one before.
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(header);
      bytes += header.length;
    },
    pull(controller) {
      if (next >= runs.length) return controller.close();
      const slice = framed(encodeTable(runs.slice(next, next + RECORDS_PER_SLICE)));
      next += RECORDS_PER_SLICE;
      bytes += slice.length;
      controller.enqueue(slice);
    },
  });
  await store.put({ name: OBJECT }, stream);
  return bytes;
}

/** The stored checkpoint, or undefined when there is none this engine can read. */
export async function loadCheckpoint(store: ObjectStore): Promise<Checkpoint | undefined> {
  const data = await store.getBlob(OBJECT);
  if (!data) return undefined;
  try {
    const read = readStored(data);
    if (!read) return undefined;
    const runs: IndexedRun[] = [];
    for (const slice of read.slices) {
      for (const r of decodeTable<IndexedRun>(slice)) if (wellFormed(r)) runs.push(r);
      await yieldToOthers();
    }
    return { seq: read.seq, runs };
  } catch {
    return undefined;
  }
}

/** The sequence and the encoded slices of a stored checkpoint (layout 4, or 3). */
function readStored(data: Uint8Array): { seq: number; slices: Iterable<Uint8Array> } | undefined {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    const whole = decode<StoredWhole>(data);
    if (
      typeof whole !== 'object' ||
      whole === null ||
      whole.layout !== 3 ||
      typeof whole.seq !== 'number' ||
      !Array.isArray(whole.slices)
    )
      return undefined;
    return whole;
  }
  const frames: Uint8Array[] = [];
  for (let at = MAGIC.length; at < buf.length;) {
    const length = buf.readUInt32BE(at);
    if (at + 4 + length > buf.length) return undefined; // cut short
    frames.push(buf.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  const header = frames.length > 0 ? decode<Header>(frames[0]) : undefined;
  if (header?.layout !== LAYOUT || typeof header.seq !== 'number') return undefined;
  return { seq: header.seq, slices: frames.slice(1) };
}

function wellFormed(r: IndexedRun | null | undefined): r is IndexedRun {
  return (
    typeof r?.id === 'string' &&
    typeof r.name === 'string' &&
    typeof r.status === 'string' &&
    typeof r.createdAt === 'number' &&
    Array.isArray(r.workerIds) &&
    Array.isArray(r.journalSeqs) &&
    typeof r.tasks === 'object' &&
    r.tasks !== null &&
    typeof r.additionalMetadata === 'object' &&
    r.additionalMetadata !== null
  );
}
