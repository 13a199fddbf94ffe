import { Check, Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * The one-row `session_server_key` table as a TypeORM entity, for `synchronize` or
 * `migration:generate` users. The shipped migration {@link CreateServerKeyTable1764000000003}
 * creates the same table.
 */
@Entity({ name: 'session_server_key' })
@Check('session_server_key_single_row', '"id" = 1')
@Check('session_server_key_length', 'octet_length("key") = 32')
export class SessionServerKeyEntity {
  /** Always 1: there is one key per database. */
  @PrimaryColumn({ type: 'smallint', primaryKeyConstraintName: 'session_server_key_pkey' })
  id!: number;

  /** 32 bytes from the CSPRNG; never leaves the server. */
  @Column({ type: 'bytea' })
  key!: Buffer;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
