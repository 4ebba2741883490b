import { describe, expect, it } from 'vitest';
import { awaitedEventKeys } from './run-waits.js';

const at = new Date(0);

describe('awaitedEventKeys', () => {
  it('reads declared waits and the last durable wait of each task', () => {
    const keys = awaitedEventKeys([
      {
        seq: 1,
        type: 'RunTriggered',
        at,
        data: {
          spec: {
            tasks: [
              { name: 'ship', waitFor: [[{ kind: 'event', id: 'e', eventKey: 'order:approved' }]] },
              { name: 'plain' },
            ],
          },
        },
      },
      {
        seq: 2,
        type: 'DurableWaitStarted',
        at,
        data: {
          taskName: 'd',
          conditions: [
            [
              { kind: 'sleep', id: 's', ms: 5 },
              { kind: 'event', id: 'x', eventKey: 'k' },
            ],
          ],
        },
      },
    ]);
    expect(Object.fromEntries(keys)).toEqual({ ship: ['order:approved'], d: ['k'] });
  });
});
