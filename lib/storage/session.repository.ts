import { JsonValue } from '../core/json-value';
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
export type NewSession = Omit<SessionRecord, 'obsoletedAt' | 'successor' | 'version'>;

/** A write to an active session: optional data change plus the activity time-stamps. */
export interface SessionUpdate {
  data?: DataChange;
  lastSeenAt: Date;
  expiresAt: Date;
}

/** Retires one session and creates its successor, atomically. */
export interface Regeneration {
  oldHash: Buffer;
  obsoletedAt: Date;
  /** `expires_at` of the old row: end of its retention. */
  obsoleteExpiresAt: Date;
  /** The successor token, sealed for the holder of the old token. */
  successorSeal: Buffer;
  /** The successor row; its `data` is the change applied to the old row's current data. */
  successor: Omit<NewSession, 'data' | 'createdAt'> & { data: DataChange };
}

/**
 * Storage of sessions. The abstract class is the injection token: provide another
 * implementation (`{ provide: SessionRepository, useClass: ... }`) to store sessions elsewhere.
 * Every method is one statement keyed by `id_hash` or `user_id`.
 */
export abstract class SessionRepository {
  /** The rows among `idHashes` that exist, in no particular order. */
  abstract findByHashes(idHashes: Buffer[]): Promise<SessionRecord[]>;

  abstract insert(session: NewSession): Promise<SessionRecord>;

  /**
   * Applies `update` to an active (not obsolete) session. Returns the new `version`, or `null`
   * when the row is gone or obsolete: a write never brings a session back.
   */
  abstract update(idHash: Buffer, update: SessionUpdate): Promise<number | null>;

  /**
   * Marks the old session obsolete and inserts its successor, in one statement. Returns the
   * successor, or `null` when the old session was already obsolete or gone (a concurrent
   * regeneration or logout won), in which case nothing is written.
   */
  abstract regenerate(regeneration: Regeneration): Promise<SessionRecord | null>;

  /** Deletes one session; whether it existed. */
  abstract delete(idHash: Buffer): Promise<boolean>;

  /** Every stored session of a user, obsolete ones included. */
  abstract findAllOfUser(userId: string): Promise<SessionRecord[]>;

  /** Deletes every session of a user; returns the deleted rows. */
  abstract deleteAllOfUser(userId: string): Promise<SessionRecord[]>;
}
