/**
 * JetStream dedupes on these ids, and stored ones outlive an upgrade: each expected string
 * below was produced by the code before these builders existed, and must never change.
 */
import { describe, expect, it } from 'vitest';
import * as ids from './ids.js';

describe('queue keys', () => {
  it('name the run, task, generation and attempt, and a durable resumption', () => {
    expect(ids.queueKey('r1', 'a', 2, 3)).toBe('r1:a:2.3');
    expect(ids.queueKey('r1', 'a', 2, 3, 4)).toBe('r1:a:2.3~4');
    expect(ids.queueKey('r1', 'a', 2, 3, 0)).toBe('r1:a:2.3');
  });

  it('give back their attempt scope, even when the run id has dots', () => {
    expect(ids.attemptScope(ids.queueKey('r.1', 'a', 2, 3, 4))).toBe('r.1:a:2');
    expect(ids.attemptScope(ids.queueKey('r1', 'a', 0, 1))).toBe('r1:a:0');
    expect(ids.attemptOf(ids.queueKey('r~1', 'a~2', 2, 3, 4))).toBe('r~1:a~2:2.3');
    expect(ids.attemptOf(ids.queueKey('r1', 'a', 0, 1))).toBe('r1:a:0.1');
  });
});

describe('concurrency groups and holders', () => {
  it('name a group by scope, index and key, and give the key back', () => {
    const id = ids.concurrencyGroupId('wf', 1, 'tenant|7');
    expect(id).toBe('wf|1|tenant|7');
    expect(ids.keyOfGroup(id)).toBe('tenant|7');
    expect(ids.concurrencyGroupOf(id)).toEqual({ scope: 'wf', key: 'tenant|7' });
    expect(ids.concurrencyGroupOf(ids.concurrencyGroupId('wf/a', 0, 'k'.repeat(300)))).toBe(
      undefined,
    );
  });

  it('hash a group id over 255 bytes', () => {
    expect(ids.concurrencyGroupId('wf/a', 0, 'k'.repeat(300))).toBe(
      'h-116e0d6d8250f9c2169f3f26b8c',
    );
  });

  it('name a durable wait condition by its position', () => {
    expect(ids.durableConditionId(3, 'c0')).toBe('d3.c0');
  });

  it('name a run holder and a task holder', () => {
    expect(ids.runHolder('r1', 2)).toBe('r1#2');
    expect(ids.taskHolder('r1', 2, 'charge')).toBe('r1#2/charge');
  });
});

describe('run ids, timer ids and message ids', () => {
  it.each([
    [ids.cronRunId('c1', 1700000000000), 'cron-c1-1700000000000'],
    [ids.scheduleRunId('s1'), 'schedule-s1'],
    [ids.cronTimerId('c1', 1700000000000), 'cron:c1:1700000000000'],
    [ids.scheduleTimerId('s1'), 'schedule:s1'],
    [ids.retryId('r1:a:0.2'), 'retry:r1:a:0.2'],
    [ids.sleepTimerId('sleep', 'r1', 'a', 0, 'c0'), 'sleep:r1:a:0:c0'],
    [ids.sleepTimerId('dsleep', 'r1', 'a', 1, 'd3.c0'), 'dsleep:r1:a:1:d3.c0'],
    [ids.cronDueId('c1', 1700000000000), 'cron-due:c1:1700000000000'],
    [ids.scheduleDueId('s1'), 'schedule-due:s1'],
    [ids.workerLostId('r1:a:0.1', 'w-1'), 'lost:r1:a:0.1:w-1'],
    [ids.scheduleTimedOutId('r1:a:0.1'), 'schedule-timeout:r1:a:0.1'],
    [ids.acquireId('wf|0|k', 'r1#0'), 'acquire:wf|0|k:r1#0'],
    [ids.releaseId('wf|0|k', 'r1#0/a'), 'release:wf|0|k:r1#0/a'],
    [ids.grantedId('wf|0|k', 'r1#0'), 'granted:wf|0|k:r1#0'],
    [ids.concurrencyCancelId('r1', 'wf|0|k'), 'cancel:r1:concurrency:wf|0|k'],
    [ids.parentCancelId('child-1', 'r1'), 'cancel:child-1:parent:r1'],
    [ids.childFinishedId('child-1', 0), 'child-finished:child-1:0'],
    [ids.eventsCheckId('event:e1:w1'), 'checked:event:e1:w1'],
  ])('%s', (built, expected) => {
    expect(built).toBe(expected);
  });
});
