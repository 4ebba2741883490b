/** References to stored payloads: their stored form, and finding and replacing them in values. */
import { describe, expect, it } from 'vitest';
import { decode, encode } from './codec.js';
import { holdsRef, PayloadRef, replaceRefs } from './payload-ref.js';

describe('PayloadRef', () => {
  it('is stored as msgpack extension 0x50 holding [store, name, bytes] (pinned: stored entries hold it)', () => {
    const bytes = Buffer.from(encode(new PayloadRef('run', 'r/1', 300_000))).toString('hex');
    // msgpackr's form of an extension that writes a value: fixext 1 (0xd4) of type 0x50, then
    // the value, the array [ 'run', 'r/1', 300000 ].
    expect(bytes).toBe('d4500093a372756ea3722f31ce000493e0');
    const back = decode(encode({ input: new PayloadRef('event', 'e/2', 5) }));
    expect(back).toEqual({ input: new PayloadRef('event', 'e/2', 5) });
    expect((back as { input: unknown }).input).toBeInstanceOf(PayloadRef);
  });

  it('no JSON value decodes as one', () => {
    const lookalike = { store: 'run', name: 'someone-else/1', bytes: 1 };
    expect(decode(encode(lookalike))).not.toBeInstanceOf(PayloadRef);
    expect(holdsRef(decode(encode([lookalike])))).toBe(false);
  });

  it('holdsRef and replaceRefs find references at any depth and leave the rest as it is', async () => {
    const ref = new PayloadRef('run', 'r/1', 10);
    const value = { a: 1, b: [{ c: ref }, 'x'], d: null };
    expect(holdsRef(value)).toBe(true);
    expect(holdsRef({ a: [1, { b: 'x' }], c: null })).toBe(false);
    const read = async (r: PayloadRef) => `read ${r.name}`;
    expect(await replaceRefs(value, read)).toEqual({ a: 1, b: [{ c: 'read r/1' }, 'x'], d: null });
    expect(await replaceRefs(ref, read)).toBe('read r/1');
    const small = { a: [1, 2] };
    expect(await replaceRefs(small, read)).toBe(small);
  });
});
