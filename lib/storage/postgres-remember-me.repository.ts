import { DataSource } from 'typeorm';
import { runStatement, StatementOptions, StatementResult } from './run-statement';
import {
  NewRememberMe,
  RememberMeRecord,
  RememberMeRepository,
  RememberMeRotation,
} from './remember-me.repository';

interface RememberMeRow {
  selector: string;
  handle: string;
  user_id: string;
  validator_hash: Buffer;
  previous_validator_hash: Buffer | null;
  previous_successor: Buffer | null;
  rotated_at: Date | null;
  created_at: Date;
  last_used_at: Date;
  expires_at: Date;
  ip: string | null;
  user_agent: string | null;
}

const COLUMNS = `selector, handle, user_id, validator_hash, previous_validator_hash,
  previous_successor, rotated_at, created_at, last_used_at, expires_at, ip, user_agent`;

function toRecord(row: RememberMeRow): RememberMeRecord {
  return {
    selector: row.selector,
    handle: row.handle,
    userId: row.user_id,
    validatorHash: row.validator_hash,
    previousValidatorHash: row.previous_validator_hash,
    previousSuccessor: row.previous_successor,
    rotatedAt: row.rotated_at,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    ip: row.ip,
    userAgent: row.user_agent,
  };
}

/** {@link RememberMeRepository} on PostgreSQL through the application's TypeORM `DataSource`. */
export class PostgresRememberMeRepository extends RememberMeRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly statementOptions: StatementOptions = {},
  ) {
    super();
  }

  /** One statement on the application's data source (an extension point for subclasses). */
  protected run<T>(sql: string, params: unknown[]): Promise<StatementResult<T>> {
    return runStatement<T>(this.dataSource, sql, params, this.statementOptions);
  }

  async find(selector: string): Promise<RememberMeRecord | null> {
    const { rows } = await this.run<RememberMeRow>(
      `SELECT ${COLUMNS} FROM "remember_me_token" WHERE selector = $1`,
      [selector],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async insert(token: NewRememberMe): Promise<void> {
    await this.run(
      `INSERT INTO "remember_me_token" (selector, handle, user_id, validator_hash, created_at,
         last_used_at, expires_at, ip, user_agent)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        token.selector,
        token.handle,
        token.userId,
        token.validatorHash,
        token.createdAt,
        token.lastUsedAt,
        token.expiresAt,
        token.ip,
        token.userAgent,
      ],
    );
  }

  async rotate(rotation: RememberMeRotation): Promise<boolean> {
    const { rows } = await this.run<{ selector: string }>(
      `UPDATE "remember_me_token"
       SET previous_validator_hash = validator_hash, validator_hash = $3, previous_successor = $4,
         rotated_at = $5, last_used_at = $5, ip = $6, user_agent = $7, expires_at = $8
       WHERE selector = $1 AND validator_hash = $2
       RETURNING selector`,
      [
        rotation.selector,
        rotation.expectedHash,
        rotation.validatorHash,
        rotation.previousSuccessor,
        rotation.at,
        rotation.ip,
        rotation.userAgent,
        rotation.expiresAt,
      ],
    );
    return rows.length === 1;
  }

  async delete(selector: string): Promise<boolean> {
    const { affected } = await this.run(`DELETE FROM "remember_me_token" WHERE selector = $1`, [
      selector,
    ]);
    return affected > 0;
  }

  async findActiveOfUser(userId: string, now: Date): Promise<RememberMeRecord[]> {
    const { rows } = await this.run<RememberMeRow>(
      `SELECT ${COLUMNS} FROM "remember_me_token" WHERE user_id = $1 AND expires_at > $2
       ORDER BY last_used_at DESC`,
      [userId, now],
    );
    return rows.map(toRecord);
  }

  async deleteOfUser(
    userId: string,
    scope: { handles?: string[]; exceptSelector?: string },
  ): Promise<number> {
    const { affected } = await this.run(
      `DELETE FROM "remember_me_token" WHERE user_id = $1
         AND ($2::text[] IS NULL OR handle = ANY($2)) AND ($3::text IS NULL OR selector <> $3)`,
      [userId, scope.handles ?? null, scope.exceptSelector ?? null],
    );
    return affected;
  }

  async deleteExpired(now: Date, limit: number): Promise<number> {
    const { affected } = await this.run(
      `DELETE FROM "remember_me_token" WHERE selector IN (
         SELECT selector FROM "remember_me_token" WHERE expires_at <= $1
         ORDER BY expires_at LIMIT $2
         FOR UPDATE SKIP LOCKED
       )`,
      [now, limit],
    );
    return affected;
  }
}
