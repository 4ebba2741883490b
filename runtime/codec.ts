/** msgpack for everything stored or sent between Skein's processes. */
import { Packr } from 'msgpackr';

const packr = new Packr({ useRecords: false, moreTypes: false, int64AsType: 'number' });

export const encode = (value: unknown): Uint8Array => packr.pack(value);
export const decode = <T = unknown>(bytes: Uint8Array): T => packr.unpack(bytes) as T;
