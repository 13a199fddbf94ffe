import { DataSource } from 'typeorm';
import { SessionRecord } from '../core/session-record';
import {
  DataChange,
  NewSession,
  Regeneration,
  SessionRepository,
  SessionUpdate,
} from './session.repository';

interface SessionRow {
  id_hash: Buffer;
  handle: string;
  user_id: string | null;
  data: SessionRecord['data'];
  created_at: Date;
  authenticated_at: Date | null;
  last_seen_at: Date;
  rotated_at: Date;
  expires_at: Date;
  obsoleted_at: Date | null;
  successor: Buffer | null;
  ip: string | null;
  user_agent: string | null;
  version: number;
}

const COLUMNS = `id_hash, handle, user_id, data, created_at, authenticated_at, last_seen_at,
  rotated_at, expires_at, obsoleted_at, successor, ip, user_agent, version`;

/** The data expression for a change: `$replace`, `$set` and `$remove` are its parameters. */
function mergedData(source: string, first: number): string {
  const [replace, set, remove] = [first, first + 1, first + 2].map((n) => `$${n}`);
  return `CASE WHEN ${replace}::boolean THEN ${set}::jsonb
    ELSE (${source} - ${remove}::text[]) || ${set}::jsonb END`;
}

function changeParams(change: DataChange): unknown[] {
  return [change.replace, JSON.stringify(change.set), change.remove];
}

function toRecord(row: SessionRow): SessionRecord {
  return {
    idHash: row.id_hash,
    handle: row.handle,
    userId: row.user_id,
    data: row.data,
    createdAt: row.created_at,
    authenticatedAt: row.authenticated_at,
    lastSeenAt: row.last_seen_at,
    rotatedAt: row.rotated_at,
    expiresAt: row.expires_at,
    obsoletedAt: row.obsoleted_at,
    successor: row.successor,
    ip: row.ip,
    userAgent: row.user_agent,
    version: row.version,
  };
}

/** {@link SessionRepository} on PostgreSQL through the application's TypeORM `DataSource`. */
export class PostgresSessionRepository extends SessionRepository {
  constructor(private readonly dataSource: DataSource) {
    super();
  }

  /** Runs one parameterised statement and returns its rows and affected count. */
  protected async run<T>(sql: string, params: unknown[]): Promise<{ rows: T[]; affected: number }> {
    const runner = this.dataSource.createQueryRunner();
    try {
      const result = await runner.query(sql, params, true);
      return { rows: (result.records ?? []) as T[], affected: result.affected ?? 0 };
    } finally {
      await runner.release();
    }
  }

  async findByHashes(idHashes: Buffer[]): Promise<SessionRecord[]> {
    const { rows } =
      idHashes.length === 1
        ? await this.run<SessionRow>(
            `SELECT ${COLUMNS} FROM "session" WHERE id_hash = $1`,
            idHashes,
          )
        : await this.run<SessionRow>(`SELECT ${COLUMNS} FROM "session" WHERE id_hash = ANY($1)`, [
            idHashes,
          ]);
    return rows.map(toRecord);
  }

  async insert(session: NewSession): Promise<SessionRecord> {
    const { rows } = await this.run<SessionRow>(
      `INSERT INTO "session" (id_hash, handle, user_id, data, created_at, authenticated_at,
         last_seen_at, rotated_at, expires_at, ip, user_agent)
       VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $11)
       RETURNING ${COLUMNS}`,
      [
        session.idHash,
        session.handle,
        session.userId,
        JSON.stringify(session.data),
        session.createdAt,
        session.authenticatedAt,
        session.lastSeenAt,
        session.rotatedAt,
        session.expiresAt,
        session.ip,
        session.userAgent,
      ],
    );
    return toRecord(rows[0]);
  }

  async update(idHash: Buffer, update: SessionUpdate): Promise<number | null> {
    const params: unknown[] = [idHash, update.lastSeenAt, update.expiresAt];
    let dataAssignment = '';
    if (update.data) {
      dataAssignment = `, data = ${mergedData('data', 4)}`;
      params.push(...changeParams(update.data));
    }
    const { rows } = await this.run<{ version: number }>(
      `UPDATE "session" SET last_seen_at = $2, expires_at = $3, version = version + 1${dataAssignment}
       WHERE id_hash = $1 AND obsoleted_at IS NULL
       RETURNING version`,
      params,
    );
    return rows[0]?.version ?? null;
  }

  async regenerate(regeneration: Regeneration): Promise<SessionRecord | null> {
    const next = regeneration.successor;
    const { rows } = await this.run<SessionRow>(
      `WITH old AS (
         UPDATE "session" SET obsoleted_at = $2, expires_at = $3, successor = $4, version = version + 1
         WHERE id_hash = $1 AND obsoleted_at IS NULL
         RETURNING data, created_at
       )
       INSERT INTO "session" (id_hash, handle, user_id, data, created_at, authenticated_at,
         last_seen_at, rotated_at, expires_at, ip, user_agent)
       SELECT $5, $6, $7, ${mergedData('old.data', 14)}, old.created_at, $8, $9, $10, $11, $12, $13
       FROM old
       RETURNING ${COLUMNS}`,
      [
        regeneration.oldHash,
        regeneration.obsoletedAt,
        regeneration.obsoleteExpiresAt,
        regeneration.successorSeal,
        next.idHash,
        next.handle,
        next.userId,
        next.authenticatedAt,
        next.lastSeenAt,
        next.rotatedAt,
        next.expiresAt,
        next.ip,
        next.userAgent,
        ...changeParams(next.data),
      ],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async delete(idHash: Buffer): Promise<boolean> {
    const { affected } = await this.run(`DELETE FROM "session" WHERE id_hash = $1`, [idHash]);
    return affected > 0;
  }

  async findAllOfUser(userId: string): Promise<SessionRecord[]> {
    const { rows } = await this.run<SessionRow>(
      `SELECT ${COLUMNS} FROM "session" WHERE user_id = $1`,
      [userId],
    );
    return rows.map(toRecord);
  }

  async deleteAllOfUser(userId: string): Promise<SessionRecord[]> {
    const { rows } = await this.run<SessionRow>(
      `DELETE FROM "session" WHERE user_id = $1 RETURNING ${COLUMNS}`,
      [userId],
    );
    return rows.map(toRecord);
  }
}
