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

/** How many of `records` were active sessions (not obsolete), as a revocation reports them. */
export function countActive(records: readonly SessionRecord[]): number {
  return records.filter((record) => record.obsoletedAt === null).length;
}
