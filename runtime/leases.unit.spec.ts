/** How lease changes are named in the engine's log. */
import { describe, expect, it } from 'vitest';
import { describeLeases } from './leases.js';

describe('describeLeases', () => {
  it('names the leader, then the partitions in order with runs as ranges', () => {
    expect(describeLeases(['p.3', 'leader', 'p.0', 'p.1', 'p.2', 'p.7', 'p.9', 'p.10'])).toBe(
      'leader, p 0-3,7,9-10',
    );
    expect(describeLeases(['p.5'])).toBe('p 5');
    expect(describeLeases(['leader', 'leader'])).toBe('leader');
    expect(describeLeases([])).toBe('');
  });
});
