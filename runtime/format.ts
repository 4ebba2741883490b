/**
 * The format of what Skein stores: journal entries, inbox messages, timers, events, logs and
 * snapshots each carry the version they were written in, stream messages in the
 * `Skein-Format` header and snapshots in their `v` field. 0.1.0 wrote none, so a missing
 * version is 0. A reader brings older versions up to its own on read (MIGRATIONS) and refuses
 * a newer one (the caller skips it and counts it, see rejections.ts). Old engines ignore the
 * header, which lets engines of two releases share a namespace during a rolling upgrade
 * (README "Upgrading").
 */
import { headers, type MsgHdrs } from '@nats-io/nats-core';
import { decode } from './codec.js';

/** The version this release writes. Raise it with a new entry in MIGRATIONS. */
export const FORMAT_VERSION = 1;
export const FORMAT_HEADER = 'Skein-Format';

export type StoredKind = 'journal' | 'inbox' | 'timer' | 'event' | 'log' | 'snapshot';

export type Migration = (value: unknown, kind: StoredKind) => unknown;

/**
 * MIGRATIONS[v] turns a value stored in version v into one of version v + 1. A timer holds the
 * inbox message it will send (stamped anew when it fires), so a timer's step migrates that too.
 */
const MIGRATIONS: readonly Migration[] = [
  // 0 -> 1: the version header is new; the values are the same.
  (value) => value,
];
if (MIGRATIONS.length !== FORMAT_VERSION)
  throw new Error(`format ${FORMAT_VERSION} needs ${FORMAT_VERSION} migrations`);

/** Something stored by a later release than this one: skipped, never guessed at. */
export class NewerFormatError extends Error {
  constructor(
    readonly version: number,
    readonly kind: StoredKind,
  ) {
    super(
      `a ${kind} record in format ${version}, written by a newer Skein (this one reads formats 0 to ${FORMAT_VERSION})`,
    );
  }
}

/** The version a stored message was written in: its header, or 0 (0.1.0) without one. */
export function formatOf(headers: MsgHdrs | undefined): number {
  const given = headers?.get(FORMAT_HEADER);
  if (!given) return 0;
  const version = Number(given);
  if (!Number.isInteger(version) || version < 0)
    throw new Error(`a ${FORMAT_HEADER} header of '${given.slice(0, 20)}' is not a format version`);
  return version;
}

/**
 * `value`, stored in format `version`, as this release reads it (through each step from
 * `version` on); a newer version throws NewerFormatError. `steps` are for tests.
 */
export function migrate(
  kind: StoredKind,
  version: number,
  value: unknown,
  steps: readonly Migration[] = MIGRATIONS,
): unknown {
  if (version > steps.length) throw new NewerFormatError(version, kind);
  for (let v = version; v < steps.length; v++) value = steps[v](value, kind);
  return value;
}

/** A stored stream message, decoded and migrated (its shape is still for the caller to check). */
export function decodeStored<T>(kind: StoredKind, msg: { data: Uint8Array; headers?: MsgHdrs }): T {
  const version = formatOf(msg.headers);
  // Before decoding: a newer release may not even encode the same way.
  if (version > FORMAT_VERSION) throw new NewerFormatError(version, kind);
  return migrate(kind, version, decode(msg.data)) as T;
}

/** The header every stored stream message is published with (JetStream keeps headers). */
export const FORMAT_STAMP: Readonly<Record<string, string>> = {
  [FORMAT_HEADER]: String(FORMAT_VERSION),
};

/** FORMAT_STAMP as the headers of a publish that does not go through the Requester. */
export function formatHeaders(): MsgHdrs {
  const h = headers();
  h.set(FORMAT_HEADER, FORMAT_STAMP[FORMAT_HEADER]);
  return h;
}
