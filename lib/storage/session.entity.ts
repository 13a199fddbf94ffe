import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { JsonValue } from '../core/json-value';

/**
 * The `session` table as a TypeORM entity. The package reads and writes it with its own SQL;
 * the entity documents the schema and lets `synchronize` or `migration:generate` users keep it.
 * The shipped migration {@link CreateSessionTable1764000000000} creates the same table.
 */
@Entity({ name: 'session' })
@Check('session_id_hash_length', 'octet_length("id_hash") = 32')
export class SessionEntity {
  /** SHA-256 of the session token. */
  @PrimaryColumn({ name: 'id_hash', type: 'bytea', primaryKeyConstraintName: 'session_pkey' })
  idHash!: Buffer;

  /** Public, non-secret identifier of one login; stable across regenerations. */
  @Column({ type: 'text' })
  handle!: string;

  @Index('session_user_id_idx')
  @Column({ name: 'user_id', type: 'text', nullable: true })
  userId!: string | null;

  @Column({ type: 'jsonb', default: {} })
  data!: Record<string, JsonValue>;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'authenticated_at', type: 'timestamptz', nullable: true })
  authenticatedAt!: Date | null;

  @Column({ name: 'last_seen_at', type: 'timestamptz' })
  lastSeenAt!: Date;

  @Column({ name: 'rotated_at', type: 'timestamptz' })
  rotatedAt!: Date;

  @Index('session_expires_at_idx')
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'obsoleted_at', type: 'timestamptz', nullable: true })
  obsoletedAt!: Date | null;

  /** Why the row was made obsolete: `login`, `restore`, `privilege` or `rotation`. */
  @Column({ name: 'obsoleted_by', type: 'text', nullable: true })
  obsoletedBy!: string | null;

  /** When a client first presented this row's own token (null on a successor until then). */
  @Column({ name: 'presented_at', type: 'timestamptz', nullable: true })
  presentedAt!: Date | null;

  @Column({ type: 'bytea', nullable: true })
  successor!: Buffer | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @Column({ name: 'csrf_secret', type: 'bytea', nullable: true })
  csrfSecret!: Buffer | null;

  /** For a session started from a remember-me token: the remembered device's handle. */
  @Column({ name: 'remember_me_handle', type: 'text', nullable: true })
  rememberMeHandle!: string | null;

  @Column({ type: 'text', nullable: true })
  ip!: string | null;

  @Column({ name: 'user_agent', type: 'text', nullable: true })
  userAgent!: string | null;

  @Column({ type: 'integer', default: 1 })
  version!: number;
}
