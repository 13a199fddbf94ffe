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
 * Storage of remember-me tokens. The abstract class is the injection token. Every method is
 * one statement keyed by `selector` or `user_id`.
 */
export abstract class RememberMeRepository {
  abstract find(selector: string): Promise<RememberMeRecord | null>;
  abstract insert(token: NewRememberMe): Promise<void>;
  /** Rotates the validator if it is still `expectedHash`; whether it was. */
  abstract rotate(rotation: RememberMeRotation): Promise<boolean>;
  abstract delete(selector: string): Promise<boolean>;
  /** The user's unexpired tokens, most recently used first. */
  abstract findActiveOfUser(userId: string, now: Date): Promise<RememberMeRecord[]>;
  /**
   * Deletes tokens of a user: all, those of the devices `handles`, and in either case all but
   * the token `exceptSelector`. Returns how many.
   */
  abstract deleteOfUser(
    userId: string,
    scope: { handles?: string[]; exceptSelector?: string },
  ): Promise<number>;
  /** Deletes up to `limit` expired tokens, skipping locked rows; how many. */
  abstract deleteExpired(now: Date, limit: number): Promise<number>;
}
