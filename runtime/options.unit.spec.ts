import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors.js';
import { checkOptions, optionNames } from './options.js';

const known = optionNames<{ executionTimeout?: number; retries?: number; key?: string }>({
  executionTimeout: true,
  retries: true,
  key: true,
});

const message = (value: unknown) => {
  try {
    checkOptions(value, known, "task 'a'");
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as Error).message;
  }
  return undefined;
};

describe('checkOptions', () => {
  it('accepts known options, and leaves anything but a plain object to other checks', () => {
    expect(message({ retries: 1, key: 'k' })).toBeUndefined();
    expect(message(undefined)).toBeUndefined();
    expect(message([1])).toBeUndefined();
  });

  it("names each unknown option with Skein's name, a close spelling, or the known ones", () => {
    expect(message({ timeout: 1 })).toBe(
      "task 'a': unknown option 'timeout' (did you mean 'executionTimeout'?)",
    );
    expect(message({ retires: 1 })).toBe(
      "task 'a': unknown option 'retires' (did you mean 'retries'?)",
    );
    expect(message({ childKey: 'x', colour: 1 })).toBe(
      "task 'a': unknown options 'childKey' (did you mean 'key'?), " +
        "'colour' (known options: executionTimeout, retries, key)",
    );
    expect(message({ on: { event: 'e' } })).toMatch(/onEvents \(for on\.event\).*onCrons/);
    expect(message({ slotCost: 2 })).toMatch(/no slot cost/);
  });
});
