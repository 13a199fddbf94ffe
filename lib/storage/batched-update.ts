import { lockedInOrder } from './lock-order';
import type { BatchedWrite } from './write-batcher';

/**
 * The UPDATE of many rows, each with its own change, in one statement (one transaction, one
 * commit). `$1`-`$7` are arrays of one element per write: id hash, touch (last seen, expiry),
 * data change (replace, keys set as a JSON object, keys removed as a JSON array) and CSRF
 * secret; `null` where the write has none. The rows are locked in the one order of every
 * statement that locks several (`lock-order`). `live` is the condition a row must meet (not
 * obsolete, not revoked), for columns unqualified and prefixed by `s.`; `returning` what comes
 * back per written row. Each change is what the single-row UPDATE of a request does.
 */
export function batchedUpdateStatement(
  live: (prefix?: string) => string,
  returning: string,
): string {
  return `WITH ${lockedInOrder('$1::bytea[]', live())}
  UPDATE "session" s SET version = s.version + 1,
    last_seen_at = COALESCE(t.last_seen_at, s.last_seen_at),
    expires_at = COALESCE(t.expires_at, s.expires_at),
    data = CASE WHEN t.replace IS NULL THEN s.data
      WHEN t.replace THEN t.data_set
      WHEN t.remove IS NULL THEN s.data || t.data_set
      ELSE (s.data - ARRAY(SELECT jsonb_array_elements_text(t.remove))) || t.data_set END,
    csrf_secret = COALESCE(s.csrf_secret, t.csrf_secret)
  FROM unnest($1::bytea[], $2::timestamptz[], $3::timestamptz[], $4::boolean[], $5::jsonb[],
    $6::jsonb[], $7::bytea[])
    AS t(id_hash, last_seen_at, expires_at, replace, data_set, remove, csrf_secret), locked
  WHERE s.id_hash = t.id_hash AND s.id_hash = locked.id_hash AND ${live('s.')}
  RETURNING ${returning}`;
}

/** The parameters of {@link batchedUpdateStatement} for `writes`. */
export function batchedUpdateParams(writes: readonly BatchedWrite[]): unknown[] {
  const updates = writes.map((write) => write.update);
  return [
    writes.map((write) => write.idHash),
    updates.map(({ touch }) => touch?.lastSeenAt ?? null),
    updates.map(({ touch }) => touch?.expiresAt ?? null),
    updates.map(({ data }) => data?.replace ?? null),
    updates.map(({ data }) => (data ? JSON.stringify(data.set) : null)),
    updates.map(({ data }) =>
      data && data.remove.length > 0 ? JSON.stringify(data.remove) : null,
    ),
    updates.map(({ csrfSecret }) => csrfSecret ?? null),
  ];
}
