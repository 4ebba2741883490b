import { describe, expect, it } from 'vitest';
import { ValidationError } from '../sdk/index.js';
import { parseRunQuery, withParams } from './run-query.js';

const NOW = Date.parse('2026-12-03T12:00:00Z');
const parse = (qs: string) => parseRunQuery(new URLSearchParams(qs), NOW);

describe('the runs page query string', () => {
  it('reads repeatable statuses, names and metadata pairs (AND), and the other filters', () => {
    expect(
      parse(
        'status=failed&status=QUEUED&name=a&name=b&meta=tenant%3Dacme&meta=region%3Deu%3D1' +
          '&error=TypeError&parent=p1&worker=w1&retrying=1&cursor=c1',
      ),
    ).toEqual({
      filter: {
        status: ['FAILED', 'QUEUED'],
        name: ['a', 'b'],
        additionalMetadata: { tenant: 'acme', region: 'eu=1' },
        errorContains: 'TypeError',
        parentRunId: 'p1',
        workerId: 'w1',
        retrying: true,
      },
      cursor: 'c1',
    });
  });

  it('takes times as ISO or as a duration ago, and leaves out empty fields', () => {
    expect(parse('since=1h&until=2026-12-03T11:30:00Z&name=&meta=').filter).toEqual({
      since: new Date(NOW - 3_600_000),
      until: new Date('2026-12-03T11:30:00Z'),
    });
  });

  it('refuses what it does not know, so a typo cannot widen a bulk action', () => {
    expect(() => parse('stauts=FAILED')).toThrow(ValidationError);
    expect(() => parse('status=DONE')).toThrow(/status must be one of/);
    expect(() => parse('meta=novalue')).toThrow(/key=value/);
    expect(() => parse('since=yesterday')).toThrow(/since must be a time/);
  });

  it('builds links from the current filters, without the cursor', () => {
    const params = new URLSearchParams('name=a&cursor=c1&status=FAILED');
    expect(withParams(params, { status: 'QUEUED' })).toBe('/runs?name=a&status=QUEUED');
    expect(withParams(new URLSearchParams('cursor=x'), {})).toBe('/runs');
  });
});
