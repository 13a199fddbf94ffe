import { DataSource } from 'typeorm';
import { SessionStoreError } from '../core/errors';

/** The rows and affected-row count of one statement. */
export interface StatementResult<T> {
  rows: T[];
  affected: number;
}

/**
 * Runs one parameterised statement on a pooled connection of the application's data source
 * and returns its rows and affected count (TypeORM's plain `query()` shapes UPDATE and DELETE
 * results differently from the others). Any failure (no connection, pool timeout, a broken
 * statement) is rethrown as a {@link SessionStoreError}, so callers can fail closed with 503.
 */
export async function runStatement<T>(
  dataSource: DataSource,
  sql: string,
  params: unknown[],
): Promise<StatementResult<T>> {
  const runner = dataSource.createQueryRunner();
  try {
    const result = await runner.query(sql, params, true);
    return { rows: (result.records ?? []) as T[], affected: result.affected ?? 0 };
  } catch (error) {
    throw new SessionStoreError(`Session store statement failed: ${String(error)}`, {
      cause: error,
    });
  } finally {
    await runner.release();
  }
}
