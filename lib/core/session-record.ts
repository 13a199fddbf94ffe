import { JsonValue } from './json-value';
import type { RegenerationPurpose } from './obsolete-id-policy';

/** One row of the `session` table, as the core sees it. */
export interface SessionRecord {
  /** SHA-256 of the token. */
  idHash: Buffer;
  /** Public identifier of one login, stable across same-user regenerations. */
  handle: string;
  userId: string | null;
  data: Record<string, JsonValue>;
  createdAt: Date;
  authenticatedAt: Date | null;
  lastSeenAt: Date;
  rotatedAt: Date;
  expiresAt: Date;
  obsoletedAt: Date | null;
  /** Why the row was made obsolete; `null` while it is not (or for rows retired before it was recorded). */
  obsoletedBy: RegenerationPurpose | null;
  /**
   * When a client first presented this row's own token. A new session is presented when it is
   * created; a successor is not until its client comes back with it.
   */
  presentedAt: Date | null;
  /** Set when the session was revoked (device list, sign out everywhere, attack response). */
  revokedAt: Date | null;
  /** The successor's token sealed with a key only the holder of this row's token can derive. */
  successor: Buffer | null;
  /** Per-session secret of the CSRF tokens; renewed at login, kept by other regenerations. */
  csrfSecret: Buffer | null;
  /** For a session started from a remember-me token: the handle of that remembered device. */
  rememberMeHandle: string | null;
  ip: string | null;
  userAgent: string | null;
  version: number;
}

/**
 * `record` with `data` as its data (the record's own is not read), every field copied by name:
 * copies of one shape, which V8 makes in a few stores. An object spread of a record (`{
 * ...record, data }`) profiled at about twice the cost on the write path, where the copies a
 * cache keeps come from other copies.
 */
export function withData(
  record: Omit<SessionRecord, 'data'>,
  data: Record<string, JsonValue>,
): SessionRecord {
  return {
    idHash: record.idHash,
    handle: record.handle,
    userId: record.userId,
    data,
    createdAt: record.createdAt,
    authenticatedAt: record.authenticatedAt,
    lastSeenAt: record.lastSeenAt,
    rotatedAt: record.rotatedAt,
    expiresAt: record.expiresAt,
    obsoletedAt: record.obsoletedAt,
    obsoletedBy: record.obsoletedBy,
    presentedAt: record.presentedAt,
    revokedAt: record.revokedAt,
    successor: record.successor,
    csrfSecret: record.csrfSecret,
    rememberMeHandle: record.rememberMeHandle,
    ip: record.ip,
    userAgent: record.userAgent,
    version: record.version,
  };
}

/** What an UPDATE of one row changed: its data, version and CSRF secret, and the touch it made. */
export interface AppliedUpdate {
  data: Record<string, JsonValue>;
  version: number;
  csrfSecret: Buffer | null;
  touch?: { lastSeenAt: Date; expiresAt: Date };
}

/** `record` as it is after `update` applied to it, and nothing else changed it in between. */
export function afterUpdate(
  record: Omit<SessionRecord, 'data'>,
  update: AppliedUpdate,
): SessionRecord {
  const next = withData(record, update.data);
  next.version = update.version;
  next.csrfSecret = update.csrfSecret;
  if (update.touch) {
    next.lastSeenAt = update.touch.lastSeenAt;
    next.expiresAt = update.touch.expiresAt;
  }
  return next;
}

/** How many of `records` were active sessions (not obsolete), as a revocation reports them. */
export function countActive(records: readonly SessionRecord[]): number {
  return records.filter((record) => record.obsoletedAt === null).length;
}
