import { describe, expect, it } from 'vitest';
import { waitWords } from './wait-words.js';

describe('waitWords', () => {
  it('says an event wait with its filter, or a timeout', () => {
    const words = waitWords([
      [
        { kind: 'event', id: 'e', eventKey: 'order:approved', expression: 'input.ok' },
        { kind: 'sleep', id: 's', ms: 10_000 },
      ],
    ]);
    expect(words).toBe('event order:approved matching input.ok, or 10 s');
  });

  it('joins groups with and, leaving out groups that held', () => {
    const expr = [
      [{ kind: 'sleep' as const, id: 's', ms: 90_000 }],
      [{ kind: 'parent' as const, id: 'p', parent: 'validate' }],
      [{ kind: 'event' as const, id: 'e', eventKey: 'k', scope: 'cust-7' }],
    ];
    expect(waitWords(expr)).toBe(
      '1.5 min; and task validate to succeed; and event k (scope cust-7)',
    );
    expect(waitWords(expr, ['s'])).toBe('task validate to succeed; and event k (scope cust-7)');
  });
});
