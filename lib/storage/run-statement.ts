import { Logger } from '@nestjs/common';
import { DataSource, QueryRunner } from 'typeorm';
import { SessionStoreError } from '../http/session.exceptions';

/** The rows and affected-row count of one statement. */
export interface StatementResult<T> {
  rows: T[];
  affected: number;
}

const logger = new Logger('SessionStore');

/**
 * Runs one parameterised statement on a pooled connection of the application's data source
 * and returns its rows and affected count (TypeORM's plain `query()` shapes UPDATE and DELETE
 * results differently from the others). Any failure (no connection, pool timeout, a broken
 * statement) is logged here, once, and rethrown as a {@link SessionStoreError}: a 503 wherever
 * it surfaces, so every caller fails closed.
 */
export async function runStatement<T>(
  dataSource: DataSource,
  sql: string,
  params: unknown[],
): Promise<StatementResult<T>> {
  let runner: QueryRunner | undefined;
  try {
    runner = dataSource.createQueryRunner();
    const result = await runner.query(sql, params, true);
    return { rows: (result.records ?? []) as T[], affected: result.affected ?? 0 };
  } catch (error) {
    const failure = new SessionStoreError(String(error), { cause: error });
    logger.error(failure.message);
    throw failure;
  } finally {
    await runner?.release();
  }
}
