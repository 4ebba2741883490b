/** msgpack for everything stored or sent between Skein's processes. */
import { addExtension, Packr } from 'msgpackr';
import { PayloadRef } from './payload-ref.js';

/** The msgpack extension type of a PayloadRef (one msgpackr does not use itself). */
const PAYLOAD_REF_TYPE = 0x50;

addExtension({
  Class: PayloadRef,
  type: PAYLOAD_REF_TYPE,
  write: (ref: PayloadRef) => [ref.store, ref.name, ref.bytes],
  read: ([store, name, bytes]: [PayloadRef['store'], string, number]) =>
    new PayloadRef(store, name, bytes),
});

const packr = new Packr({ useRecords: false, moreTypes: false, int64AsType: 'number' });

export const encode = (value: unknown): Uint8Array => packr.pack(value);
export const decode = <T = unknown>(bytes: Uint8Array): T => packr.unpack(bytes) as T;

/**
 * For many objects of one shape (the run index's checkpoint): each shape's keys are written
 * once per value, not once per object (a third of the size, and faster). Self-describing.
 */
const tablePackr = new Packr({ useRecords: true, moreTypes: false, int64AsType: 'number' });
export const encodeTable = (rows: unknown[]): Uint8Array => tablePackr.pack(rows);
export const decodeTable = <T = unknown>(bytes: Uint8Array): T[] =>
  new Packr({ useRecords: true, moreTypes: false, int64AsType: 'number' }).unpack(bytes) as T[];
