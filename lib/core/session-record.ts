import { JsonValue } from './json-value';

/** One row of the `session` table, as the core sees it. */
export interface SessionRecord {
  /** SHA-256 of the token. */
  idHash: Buffer;
  /** Public identifier of one login, stable across regenerations. */
  handle: string;
  userId: string | null;
  data: Record<string, JsonValue>;
  createdAt: Date;
  authenticatedAt: Date | null;
  lastSeenAt: Date;
  rotatedAt: Date;
  expiresAt: Date;
  obsoletedAt: Date | null;
  /** Set when the session was revoked (device list, sign out everywhere, attack response). */
  revokedAt: Date | null;
  /** The successor's token sealed with a key only the holder of this row's token can derive. */
  successor: Buffer | null;
  /** Per-session secret of the CSRF tokens; renewed at login, kept by other regenerations. */
  csrfSecret: Buffer | null;
  ip: string | null;
  userAgent: string | null;
  version: number;
}
