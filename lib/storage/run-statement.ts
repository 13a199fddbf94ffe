import { Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { Pool, QueryConfig } from 'pg';
import { DataSource } from 'typeorm';
import { SessionStoreError } from '../http/session.exceptions';

/** The rows and affected-row count of one statement. */
export interface StatementResult<T> {
  rows: T[];
  affected: number;
}

/** How the repositories send their statements. */
export interface StatementOptions {
  /** Named prepared statements (parsed and planned once per connection). Default `true`. */
  preparedStatements?: boolean;
}

const logger = new Logger('SessionStore');

/** One name per statement text, the same in every process (PostgreSQL keys them per connection). */
const statementNames = new Map<string, string>();

function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (!name) {
    name = `nss_${createHash('sha256').update(sql).digest('hex').slice(0, 20)}`;
    statementNames.set(sql, name);
  }
  return name;
}

/**
 * Runs one parameterised statement on the pg pool of the application's TypeORM data source
 * (its writer pool under replication), without TypeORM's per-query runner, which measured
 * about a tenth of a write's time in `npm run bench`. Any failure (no connection, pool timeout,
 * a broken statement) is logged here, once, and rethrown as a {@link SessionStoreError}: a
 * 503 wherever it surfaces, so every caller fails closed.
 */
export async function runStatement<T>(
  dataSource: DataSource,
  sql: string,
  params: unknown[],
  options: StatementOptions = {},
): Promise<StatementResult<T>> {
  try {
    const pool = (dataSource.driver as { master?: Pool }).master;
    if (!pool?.query) {
      throw new Error('the data source has no PostgreSQL pool: is it a connected "postgres" one?');
    }
    const query: QueryConfig =
      options.preparedStatements === false
        ? { text: sql, values: params }
        : { name: statementName(sql), text: sql, values: params };
    const result = await pool.query(query);
    return { rows: result.rows as T[], affected: result.rowCount ?? 0 };
  } catch (error) {
    const failure = new SessionStoreError(String(error), { cause: error });
    logger.error(failure.message);
    throw failure;
  }
}
