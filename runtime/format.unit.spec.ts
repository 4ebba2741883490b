import { headers } from '@nats-io/nats-core';
import { describe, expect, it } from 'vitest';
import { encode } from './codec.js';
import {
  decodeStored,
  FORMAT_HEADER,
  FORMAT_STAMP,
  FORMAT_VERSION,
  formatHeaders,
  formatOf,
  migrate,
  NewerFormatError,
  type Migration,
} from './format.js';

const stamped = (version: string) => {
  const h = headers();
  h.set(FORMAT_HEADER, version);
  return h;
};

describe('stored formats', () => {
  it('stamps what it writes with the current version', () => {
    expect(FORMAT_STAMP).toEqual({ 'Skein-Format': String(FORMAT_VERSION) });
    expect(formatOf(formatHeaders())).toBe(FORMAT_VERSION);
  });

  it('takes a message without a version header as written by 0.1.0 (format 0)', () => {
    expect(formatOf(undefined)).toBe(0);
    expect(formatOf(headers())).toBe(0);
    const entry = { m: 'msg-1', at: 5, ev: [{ type: 'RunTriggered' }], fx: [] };
    expect(decodeStored('journal', { data: encode(entry) })).toEqual(entry);
  });

  it('reads its own format as written', () => {
    const message = { type: 'SleepElapsed', id: 't1' };
    expect(
      decodeStored('inbox', { data: encode(message), headers: stamped(String(FORMAT_VERSION)) }),
    ).toEqual(message);
    expect(migrate('snapshot', FORMAT_VERSION, { seq: 3 })).toEqual({ seq: 3 });
  });

  it('brings an older value up through every step after its version, in order', () => {
    const steps: Migration[] = [
      (v, kind) => ({ ...(v as object), one: kind }),
      (v) => ({ ...(v as object), two: true }),
    ];
    expect(migrate('timer', 0, { at: 1 }, steps)).toEqual({ at: 1, one: 'timer', two: true });
    expect(migrate('timer', 1, { at: 1 }, steps)).toEqual({ at: 1, two: true });
    expect(migrate('timer', 2, { at: 1 }, steps)).toEqual({ at: 1 });
    expect(() => migrate('timer', 3, { at: 1 }, steps)).toThrow(NewerFormatError);
  });

  it('refuses a newer format before decoding it, naming the version', () => {
    const future = stamped(String(FORMAT_VERSION + 1));
    const notMsgpack = new TextEncoder().encode('{"some":"future encoding"}');
    const read = () => decodeStored('journal', { data: notMsgpack, headers: future });
    expect(read).toThrow(NewerFormatError);
    expect(read).toThrow(`format ${FORMAT_VERSION + 1}, written by a newer Skein`);
    expect(() => migrate('snapshot', FORMAT_VERSION + 1, {})).toThrow(NewerFormatError);
  });

  it('refuses a version header that is not a version', () => {
    for (const bad of ['one', '-1', '1.5'])
      expect(() => formatOf(stamped(bad))).toThrow(/is not a format version/);
  });
});
