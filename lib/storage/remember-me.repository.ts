/** One row of `remember_me_token`. */
export interface RememberMeRecord {
  selector: string;
  handle: string;
  userId: string;
  validatorHash: Buffer;
  previousValidatorHash: Buffer | null;
  previousSuccessor: Buffer | null;
  rotatedAt: Date | null;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  ip: string | null;
  userAgent: string | null;
}

export type NewRememberMe = Omit<
  RememberMeRecord,
  'previousValidatorHash' | 'previousSuccessor' | 'rotatedAt'
>;

/** The validator change of one use: compare-and-set on the hash the request saw. */
export interface RememberMeRotation {
  selector: string;
  expectedHash: Buffer;
  validatorHash: Buffer;
  previousSuccessor: Buffer;
  at: Date;
  /** The device's new end of life: a remembered device lives `lifetime` past its last use. */
  expiresAt: Date;
  ip: string | null;
  userAgent: string | null;
}

/**
 * Storage of remember-me tokens (one row per remembered device). The abstract class is the
 * injection token; bind another implementation with the `repositories` extra of
 * `SessionModule.forRoot` / `forRootAsync` (`repositories: { rememberMe: MyRepository }`), and
 * run the package's contract suite (`describeRememberMeRepositoryContract`) against it.
 *
 * As for `SessionRepository`: each method is **atomic** (a rotation is a compare-and-set that
 * exactly one of concurrent callers wins), a deleted token never comes back, and a store that
 * cannot answer **fails closed** by rejecting with a `SessionStoreError`. Rows are keyed by
 * `selector` and listed by `userId`; the repository sees validator hashes, never validators.
 */
export abstract class RememberMeRepository {
  /** The token of `selector`, expired or not; `null` when there is none. */
  abstract find(selector: string): Promise<RememberMeRecord | null>;

  /** Stores a new token exactly as given, never rotated. */
  abstract insert(token: NewRememberMe): Promise<void>;

  /**
   * Rotates the validator, atomically, if it is still `expectedHash`: the current hash becomes
   * the previous one, and the new hash, `previousSuccessor`, `rotatedAt` and `lastUsedAt`
   * (both `at`), `expiresAt`, `ip` and `userAgent` are stored. Returns whether it was (of
   * concurrent rotations from one hash, exactly one is); otherwise nothing is written.
   */
  abstract rotate(rotation: RememberMeRotation): Promise<boolean>;

  /** Deletes one token; whether there was one. */
  abstract delete(selector: string): Promise<boolean>;

  /** The user's tokens not expired at `now`, most recently used first. */
  abstract findActiveOfUser(userId: string, now: Date): Promise<RememberMeRecord[]>;

  /**
   * Deletes tokens of a user: all of them, or those of the devices `handles`, and in either
   * case all but the token `exceptSelector`. Returns how many.
   */
  abstract deleteOfUser(
    userId: string,
    scope: { handles?: string[]; exceptSelector?: string },
  ): Promise<number>;

  /**
   * Deletes up to `limit` tokens whose `expiresAt` is at or before `now`, leaving alone tokens
   * that a concurrent call is changing. Returns how many.
   */
  abstract deleteExpired(now: Date, limit: number): Promise<number>;
}
