import { JsonValue } from '../core/json-value';
import { RegenerationPurpose } from '../core/obsolete-id-policy';
import { SessionRecord } from '../core/session-record';

/** A change to session data: a key-level merge, or a replacement of the whole object. */
export interface DataChange {
  /** Replace the stored object with `set` instead of merging into it. */
  replace: boolean;
  /** Keys to write. */
  set: Record<string, JsonValue>;
  /** Keys to remove. */
  remove: string[];
}

/** A row to insert for a new session. */
export type NewSession = Omit<
  SessionRecord,
  'obsoletedAt' | 'obsoletedBy' | 'successor' | 'revokedAt' | 'version'
>;

/** A write to an active session: optional data change plus the activity time-stamps. */
export interface SessionUpdate {
  data?: DataChange;
  /** A CSRF secret for a row that has none (rows written by another backend). */
  csrfSecret?: Buffer;
  /**
   * New `last_seen_at` and `expires_at`, when a touch is due. A write inside the touch window
   * leaves them (and so every indexed column) alone, as a read there does.
   */
  touch?: { lastSeenAt: Date; expiresAt: Date };
  /**
   * Write only if each of `keys` still holds its value in `expected` (a key missing there must
   * be absent): the keys this write was computed from. A failed guard writes nothing and
   * returns `null`, as a gone row does; the caller reads the row to tell them apart.
   */
  guard?: { keys: string[]; expected: Record<string, JsonValue> };
}

/**
 * Which sessions of a user a revocation ends: all of them, or those of one login `handle`, or
 * all but the login `exceptHandle`, or those restored from the remembered devices
 * `rememberMeHandles` (the conditions combine).
 */
export interface RevocationScope {
  handle?: string;
  exceptHandle?: string;
  rememberMeHandles?: string[];
}

/** Retires one session and creates its successor, atomically. */
export interface Regeneration {
  oldHash: Buffer;
  /** Why: stored on the old row, it decides what the old ID gets within its grace period. */
  purpose: RegenerationPurpose;
  obsoletedAt: Date;
  /** `expires_at` of the old row: end of its retention. */
  obsoleteExpiresAt: Date;
  /** The successor token, sealed for the holder of the old token. */
  successorSeal: Buffer;
  /**
   * The successor row; its `data` is the change applied to the old row's current data, and a
   * `csrfSecret` of `null` keeps the old row's secret. It is not presented yet.
   */
  successor: Omit<NewSession, 'data' | 'createdAt' | 'presentedAt'> & { data: DataChange };
}

/**
 * Storage of sessions. The abstract class is the injection token: provide another
 * implementation (`{ provide: SessionRepository, useClass: ... }`) to store sessions elsewhere.
 * Every method is one statement keyed by `id_hash` or `user_id`.
 */
export abstract class SessionRepository {
  /**
   * The deployment's server key (signs pre-sessions): the stored one, or `candidate` stored
   * now when there is none yet. Every instance on the same database gets the same key.
   */
  abstract serverKey(candidate: Buffer, now: Date): Promise<Buffer>;

  /** The rows among `idHashes` that exist, in no particular order. */
  abstract findByHashes(idHashes: Buffer[]): Promise<SessionRecord[]>;

  abstract insert(session: NewSession): Promise<SessionRecord>;

  /**
   * Applies `update` to an active (not obsolete) session. Returns the new `version`, or `null`
   * when the row is gone or obsolete: a write never brings a session back.
   */
  abstract update(idHash: Buffer, update: SessionUpdate): Promise<number | null>;

  /**
   * Marks the old session obsolete (its data emptied, the purpose recorded) and inserts its
   * successor, in one statement. Returns the successor, or `null` when the old session was
   * already obsolete or gone (a concurrent regeneration or logout won), in which case nothing
   * is written.
   */
  abstract regenerate(regeneration: Regeneration): Promise<SessionRecord | null>;

  /**
   * Records that a client presented this session's own token, if none had yet (a successor
   * coming into use: from now on its old ID is only served to requests in flight).
   */
  abstract markPresented(idHash: Buffer, at: Date): Promise<void>;

  /**
   * Deletes one session; the row as it was when deleted (its `successor`, if a concurrent
   * regeneration just retired it), or `null` when there was none.
   */
  abstract delete(idHash: Buffer): Promise<SessionRecord | null>;

  /** The user's sessions that are neither obsolete, revoked nor past `expires_at`. */
  abstract findActiveOfUser(userId: string, now: Date): Promise<SessionRecord[]>;

  /**
   * Revokes the sessions of a user in `scope`: their data is emptied and `revoked_at` set, and they are kept until
   * `expiresAt` so that their next use is answered as revoked. Returns the revoked rows as they
   * were before. Whole chains end: a successor that a regeneration running at the same moment
   * inserts is revoked too (the PostgreSQL implementation repeats the statement until a pass
   * finds nothing left).
   */
  abstract revoke(
    userId: string,
    scope: RevocationScope,
    revokedAt: Date,
    expiresAt: Date,
  ): Promise<SessionRecord[]>;

  /**
   * Revokes every session of a user, as `revoke` does, and returns how many of them were
   * active (not obsolete). Override it to count in the store instead of reading every row back.
   */
  async revokeAll(userId: string, revokedAt: Date, expiresAt: Date): Promise<number> {
    const revoked = await this.revoke(userId, {}, revokedAt, expiresAt);
    return revoked.filter((record) => record.obsoletedAt === null).length;
  }

  /**
   * Revokes the least recently used active sessions of a user so that at most `keep` remain.
   * Returns the revoked rows.
   */
  abstract revokeLeastRecentlyUsed(
    userId: string,
    keep: number,
    now: Date,
    expiresAt: Date,
  ): Promise<SessionRecord[]>;

  /**
   * Runs `work` with every other `serializeUser` of the same user waiting for it, on a
   * repository whose statements see what the previous one committed: the session limit holds
   * under concurrent logins. The default runs `work` at once on this repository (enough for a
   * store that serialises every call itself); the PostgreSQL implementation takes a
   * transaction-level advisory lock on the user.
   */
  serializeUser<T>(
    userId: string,
    work: (repository: SessionRepository) => Promise<T>,
  ): Promise<T> {
    void userId;
    return work(this);
  }

  /**
   * Deletes up to `limit` rows whose `expires_at` has passed, skipping rows other transactions
   * hold. Returns how many were deleted.
   */
  abstract deleteExpired(now: Date, limit: number): Promise<number>;
}
