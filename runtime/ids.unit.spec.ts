/**
 * JetStream dedupes on these ids and triggers with a key find their run by them, across an
 * upgrade too: each expected string below was produced by the code before these builders
 * existed, and must never change.
 */
import { describe, expect, it } from 'vitest';
import * as ids from './ids.js';

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

describe('derived run ids', () => {
  it('are the same UUID-shaped hash of the same parts', () => {
    expect(ids.derivedId('cron', 'declared', 'nightly', 'report')).toBe(
      'c90131e4-1be6-0b5e-35f0-93731d634378',
    );
    expect(ids.derivedId('schedule', 'send-mail', 'k1')).toBe(
      '9421f8d1-3805-4f5a-95f1-5720873148e2',
    );
  });

  it('name one run per idempotency key', () => {
    expect(ids.keyedRunId('charge', 'order-42')).toBe('98ac4d91-121a-4067-fffd-62fa197fbfa5');
    expect(ids.keyedRunId('child', 'r1:parent:0#3')).toBe('80b215f0-a531-72a2-8aaf-28b91953c49d');
  });

  it('name one run per event and subscriber', () => {
    expect(ids.eventRunId('ev-1', 'on-signup')).toBe('6831bb1c-118c-e92a-3dae-135c72badad2');
    expect(ids.eventRunId('ev-1', 'other')).not.toBe(ids.eventRunId('ev-1', 'on-signup'));
  });
});

describe('memo call keys', () => {
  it('are the function name and a hash of the arguments, as recorded before', () => {
    expect(ids.memoCallKey('charge', JSON.stringify([1, 'a', { b: true }]))).toBe(
      'charge:08164ecd2da6',
    );
    expect(ids.memoCallKey('', '[]')).toBe('anonymous:4f53cda18c2b');
  });
});

describe('message ids', () => {
  it.each([
    [ids.triggerId('r1'), 'trigger:r1'],
    [ids.childStartedId('c1'), 'child:c1'],
    [ids.taskResultId('r1:a:0.1'), 'result:r1:a:0.1'],
    [ids.durableCallId(ids.attemptScope('r1:a:0.2~1'), 3), 'durable:r1:a:0:3'],
    [ids.eventReceivedId('ev-1', 'r1/a/c0'), 'event:ev-1:r1/a/c0'],
    [ids.createScheduleId('s1'), 'create:s1'],
  ])('%s', (built, expected) => {
    expect(built).toBe(expected);
  });

  it('are fresh for each request that must never be taken for a repeat', () => {
    const shapes: [string, RegExp][] = [
      [ids.cancelId('r1'), new RegExp(`^cancel:r1:${UUID}$`)],
      [ids.replayId('r1'), new RegExp(`^replay:r1:${UUID}$`)],
      [ids.timeoutRefreshId('r1:a:0.1'), new RegExp(`^refresh:r1:a:0\\.1:${UUID}$`)],
      [ids.durableWaitId('r1:a:0.1', 2), new RegExp(`^durable-wait:r1:a:0\\.1:2:${UUID}$`)],
      [ids.defineCronId(), new RegExp(`^define:${UUID}$`)],
      [ids.deleteId(), new RegExp(`^delete:${UUID}$`)],
    ];
    for (const [id, shape] of shapes) expect(id).toMatch(shape);
    expect(ids.cancelId('r1')).not.toBe(ids.cancelId('r1'));
  });
});

describe('stored message ids (Nats-Msg-Id)', () => {
  it("name a turn's effects by the turn and their place in it", () => {
    const source = ids.turnSource('run', 'r1', 'trigger:r1');
    expect(source).toBe('run.r1:trigger:r1');
    expect(ids.effectMsgId(source, 2)).toBe('run.r1:trigger:r1#2');
  });

  it('name a stored timer and the message it fires apart', () => {
    expect(ids.timerStoredMsgId('retry:r1:a:0.2')).toBe('t:retry:r1:a:0.2');
    expect(ids.timerFiredMsgId('retry:r1:a:0.2')).toBe('timer:retry:r1:a:0.2');
  });
});
