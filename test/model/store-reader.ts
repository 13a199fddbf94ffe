import type { DataSource } from 'typeorm';
import type { StoreSnapshot } from './reference/store-view';

/* What the package stored, read with SQL after each step, for the model and the invariants. */

/** The stored rows of the test database, times in milliseconds. */
export async function readStore(dataSource: DataSource): Promise<StoreSnapshot> {
  const ms = (value: Date | null) => (value === null ? null : value.getTime());
  const rows: Record<string, unknown>[] = await dataSource.query(
    `SELECT encode(id_hash, 'hex') AS hash, handle, user_id, data, created_at, authenticated_at,
       last_seen_at, rotated_at, expires_at, obsoleted_at, obsoleted_by, presented_at,
       revoked_at, remember_me_handle, successor IS NOT NULL AS has_successor
     FROM "session"`,
  );
  const devices: Record<string, unknown>[] = await dataSource.query(
    `SELECT selector, handle, user_id, encode(validator_hash, 'hex') AS validator_hash,
       encode(previous_validator_hash, 'hex') AS previous_hash, rotated_at, created_at,
       last_used_at, expires_at
     FROM "remember_me_token"`,
  );
  return {
    rows: rows.map((row) => ({
      hash: row.hash as string,
      handle: row.handle as string,
      userId: row.user_id as string | null,
      data: row.data,
      createdAt: ms(row.created_at as Date)!,
      authenticatedAt: ms(row.authenticated_at as Date | null),
      lastSeenAt: ms(row.last_seen_at as Date)!,
      rotatedAt: ms(row.rotated_at as Date)!,
      expiresAt: ms(row.expires_at as Date)!,
      obsoletedAt: ms(row.obsoleted_at as Date | null),
      obsoletedBy: row.obsoleted_by as string | null,
      presentedAt: ms(row.presented_at as Date | null),
      revokedAt: ms(row.revoked_at as Date | null),
      rememberMeHandle: row.remember_me_handle as string | null,
      hasSuccessor: row.has_successor as boolean,
    })),
    devices: devices.map((device) => ({
      selector: device.selector as string,
      handle: device.handle as string,
      userId: device.user_id as string,
      validatorHash: device.validator_hash as string,
      previousHash: device.previous_hash as string | null,
      rotatedAt: ms(device.rotated_at as Date | null),
      createdAt: ms(device.created_at as Date)!,
      lastUsedAt: ms(device.last_used_at as Date)!,
      expiresAt: ms(device.expires_at as Date)!,
    })),
  };
}
