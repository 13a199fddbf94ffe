import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * The `remember_me_token` table: one row per remembered device (a family of one-time
 * validators under a stable selector). The shipped migration
 * {@link CreateRememberMeTable1764000000001} creates it.
 */
@Entity({ name: 'remember_me_token' })
export class RememberMeTokenEntity {
  /** Looked-up half of the cookie value; stable for the device, not secret on its own. */
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'remember_me_token_pkey' })
  selector!: string;

  /** Public identifier shown in device lists; the same as the handle of its sessions. */
  @Column({ type: 'text' })
  handle!: string;

  @Index('remember_me_token_user_id_idx')
  @Column({ name: 'user_id', type: 'text' })
  userId!: string;

  /** SHA-256 of the current validator. */
  @Column({ name: 'validator_hash', type: 'bytea' })
  validatorHash!: Buffer;

  /** SHA-256 of the validator replaced at the last use (accepted during the grace period). */
  @Column({ name: 'previous_validator_hash', type: 'bytea', nullable: true })
  previousValidatorHash!: Buffer | null;

  /** The current validator sealed for the holder of the previous one. */
  @Column({ name: 'previous_successor', type: 'bytea', nullable: true })
  previousSuccessor!: Buffer | null;

  @Column({ name: 'rotated_at', type: 'timestamptz', nullable: true })
  rotatedAt!: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'last_used_at', type: 'timestamptz' })
  lastUsedAt!: Date;

  @Index('remember_me_token_expires_at_idx')
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ type: 'text', nullable: true })
  ip!: string | null;

  @Column({ name: 'user_agent', type: 'text', nullable: true })
  userAgent!: string | null;
}
