import { JsonValue } from '../core/json-value';
import { RegenerationPurpose } from '../core/obsolete-id-policy';
import { countActive, SessionRecord } from '../core/session-record';

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

/** A due touch of one session: its new `last_seen_at` and `expires_at`. */
export interface SessionTouch {
  idHash: Buffer;
  lastSeenAt: Date;
  expiresAt: Date;
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
 * Storage of sessions: the contract the package's security rules rely on. The abstract class
 * is the injection token; bind another implementation with the `repositories` extra of
 * `SessionModule.forRoot` / `forRootAsync` (`repositories: { session: MyRepository }`), and run
 * the package's contract suite (`describeSessionRepositoryContract` in its `test/contract/`)
 * against it.
 *
 * Every implementation keeps these promises:
 * - **Atomic.** Each method takes effect as one indivisible step, as seen by every other call
 *   on the same store (from any process): no caller observes half of it, and of two calls that
 *   compete for one row (two regenerations, a regeneration and a revocation, a guarded update
 *   and a write) each sees the other either wholly done or not begun.
 * - **A write never revives an obsolete row.** A row that is obsolete (regenerated), revoked
 *   or gone stays so: `update`, `regenerate` and `markPresented` on it write nothing.
 * - **Fails closed.** When the store cannot answer or refuses a call, the method rejects with
 *   a `SessionStoreError` (wrap the driver's error as its `cause`), never resolves with a
 *   guess: the request then answers 503 `session_store_unavailable` instead of serving or
 *   dropping a session it could not read or write.
 * - Rows are keyed by `idHash` (SHA-256 of the token) and listed by `userId`; the repository
 *   never sees a token. Time comes from the caller (`now`, `at`), never from the store's clock.
 */
export abstract class SessionRepository {
  /** The work of `serializeUser` under way per user, in this process (the default one). */
  private readonly serialized = new Map<string, Promise<void>>();

  /**
   * The deployment's server key (signs pre-sessions): the key stored first, or `candidate`,
   * stored now, when none is. Every caller on the same store, in every process, gets the same
   * key from then on, however many race to store theirs.
   */
  abstract serverKey(candidate: Buffer, now: Date): Promise<Buffer>;

  /** The rows among `idHashes` that exist, whatever their state, in no particular order. */
  abstract findByHashes(idHashes: Buffer[]): Promise<SessionRecord[]>;

  /**
   * The session whose hashed ID is `hexIdHash` (hex) when it is at hand without asking the
   * store (an in-process copy of a live one), else `undefined`: `findByHashes` then asks. Lets
   * the commonest request, a signed-in browser's read, be admitted without waiting for anything.
   */
  findAtHand(_hexIdHash: string): SessionRecord | undefined {
    return undefined;
  }

  /**
   * Stores a new session exactly as given, not obsolete, not revoked, without successor, and
   * returns it with its first `version`.
   */
  abstract insert(session: NewSession): Promise<SessionRecord>;

  /**
   * Applies `update` to a live session (neither obsolete nor revoked), atomically: the data
   * change (a key-level merge, or a replacement), the touch, a CSRF secret only where the row
   * has none, and a `version` greater than before. Returns that version, or `null` when
   * nothing was written: the row is gone, obsolete or revoked (a write never brings a session
   * back), or its guard failed (a guarded key no longer holds its expected value).
   */
  abstract update(idHash: Buffer, update: SessionUpdate): Promise<number | null>;

  /**
   * Stores many touches at once (see `SessionUpdate.touch`): for each, the row's new version,
   * or `null` when the row is no longer live. The default stores them one by one with
   * {@link update}; a store that can write them in one statement overrides it. A touch may be
   * committed less durably than other writes: losing one can only make a session end sooner.
   */
  async touchAll(touches: SessionTouch[]): Promise<(number | null)[]> {
    const versions: (number | null)[] = [];
    for (const { idHash, lastSeenAt, expiresAt } of touches) {
      versions.push(await this.update(idHash, { touch: { lastSeenAt, expiresAt } }));
    }
    return versions;
  }

  /**
   * Retires a live session and creates its successor, atomically: the old row becomes obsolete
   * (its data emptied, `obsoletedAt`, `obsoletedBy`, `successor` and the retention `expiresAt`
   * recorded) and the successor starts from the old row's data at that moment with the change
   * applied, its `createdAt`, and its CSRF secret unless a new one is given. Returns the
   * successor; `null` when the old row is already obsolete, revoked or gone, in which case
   * nothing is written. Of concurrent regenerations of one row exactly one succeeds.
   */
  abstract regenerate(regeneration: Regeneration): Promise<SessionRecord | null>;

  /**
   * Records `at` as the moment a client first presented this session's own token, unless one
   * is recorded already (the first presentation wins; later calls change nothing). For a
   * successor this starts the short in-flight leeway of its old ID.
   */
  abstract markPresented(idHash: Buffer, at: Date): Promise<void>;

  /**
   * Deletes one session and returns the row as it was when deleted (with its `successor`, if a
   * concurrent regeneration had just retired it), or `null` when there was none.
   */
  abstract delete(idHash: Buffer): Promise<SessionRecord | null>;

  /** The user's sessions that are neither obsolete, revoked nor expired at `now`. */
  abstract findActiveOfUser(userId: string, now: Date): Promise<SessionRecord[]>;

  /**
   * Revokes the user's sessions in `scope` that are not revoked yet, obsolete ones included:
   * each one's data is emptied, its `successor` forgotten, `revokedAt` set, and it is kept
   * until `expiresAt` so that its next use is answered as revoked. Returns the revoked rows as
   * they were before. Whole chains end: a successor that a regeneration running at the same
   * moment inserts is revoked too, so that no live session of the scope survives the call.
   */
  abstract revoke(
    userId: string,
    scope: RevocationScope,
    revokedAt: Date,
    expiresAt: Date,
  ): Promise<SessionRecord[]>;

  /**
   * Revokes every session of a user, as `revoke` does, and returns how many of them were
   * live (not obsolete). Override it to count in the store instead of reading every row back.
   */
  async revokeAll(userId: string, revokedAt: Date, expiresAt: Date): Promise<number> {
    const revoked = await this.revoke(userId, {}, revokedAt, expiresAt);
    return countActive(revoked);
  }

  /**
   * Revokes, as `revoke` does, the user's active sessions (as `findActiveOfUser` counts them)
   * beyond the `keep` most recently used (latest `lastSeenAt`). Returns the revoked rows.
   */
  abstract revokeLeastRecentlyUsed(
    userId: string,
    keep: number,
    now: Date,
    expiresAt: Date,
  ): Promise<SessionRecord[]>;

  /**
   * Runs `work` while every other `serializeUser` of the same user waits for it, on a
   * repository that sees what the previous work wrote: count-then-insert (the session limit)
   * holds under concurrent logins. Returns (or rejects with) what `work` does; `work` must not
   * call `serializeUser` itself, and must be safe to run again from the start: a store that
   * aborts the transaction to break a deadlock undoes what it wrote and runs it again. The
   * default queues the calls of each user in this process,
   * which is enough for a store used by one process only; a store shared by several
   * processes overrides it with a lock in the store (PostgreSQL: a transaction-level advisory
   * lock on the user).
   */
  serializeUser<T>(
    userId: string,
    work: (repository: SessionRepository) => Promise<T>,
  ): Promise<T> {
    const result = (this.serialized.get(userId) ?? Promise.resolve()).then(() => work(this));
    const done = result.then(
      () => undefined,
      () => undefined,
    );
    this.serialized.set(userId, done);
    void done.then(() => {
      if (this.serialized.get(userId) === done) this.serialized.delete(userId);
    });
    return result;
  }

  /**
   * Deletes up to `limit` rows whose `expiresAt` is at or before `now` (whatever their state),
   * leaving alone rows that a concurrent call is changing. Returns how many were deleted.
   */
  abstract deleteExpired(now: Date, limit: number): Promise<number>;
}
