/**
 * Subjects and keys name what is already stored, so each must read the same after an upgrade:
 * the expected strings below were produced by the code before this module existed.
 */
import { describe, expect, it } from 'vitest';
import * as subjects from './subjects.js';

const n = subjects.names('skein');

describe('subject tokens', () => {
  it('keep a plain id and hex-encode any other, reading both back', () => {
    expect(subjects.subjectToken('run-1:a_b')).toBe('run-1:a_b');
    expect(subjects.subjectToken('a.b c/é')).toBe('x-612e6220632fc3a9');
    expect(subjects.idFromToken('x-612e6220632fc3a9')).toBe('a.b c/é');
    expect(subjects.idFromToken('run-1:a_b')).toBe('run-1:a_b');
  });

  it('refuse an id no subject can carry', () => {
    expect(() => subjects.subjectToken('')).toThrow(/id/);
  });
});

describe('subjects', () => {
  it('put an actor on its journal and inbox subjects, and read it back from them', () => {
    expect(n.journalSubject('run', 'r.1')).toBe('skein.j.run.x-722e31');
    expect(subjects.idOfJournalSubject(n.journalSubject('run', 'r.1'))).toBe('r.1');
    expect(n.inboxSubject('run', 'r-1')).toBe('skein.in.5.run.r-1');
    expect(subjects.actorOfInboxSubject(n.inboxSubject('run', 'a.b'))).toEqual({
      type: 'run',
      id: 'a.b',
    });
    expect(n.directSubject('run', 'r-1')).toBe('skein.dm.5');
    expect(subjects.partitionOf('run', 'r-1')).toBe(5);
  });
});

describe('KV keys', () => {
  it('hex-encode what a key cannot carry, and read a worker back', () => {
    expect(subjects.snapshotKey('run', 'run-1')).toBe('run.v2.run-1');
    expect(subjects.snapshotKey('run', 'a:b')).toBe('run.v2.x-613a62');
    expect(subjects.snapshotKey('cron', 'c-1')).toBe('cron.c-1');
    expect(subjects.registryKey('order.placed')).toBe('t.6f726465722e706c61636564');
    expect(n.rateLimitKey('api/calls')).toBe('r.6170692f63616c6c73');
    expect(n.workerKey('w.1')).toBe('w.x-772e31');
    expect(subjects.workerOfKey(n.workerKey('w.1'))).toBe('w.1');
  });
});
