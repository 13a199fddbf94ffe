import { DataSource } from 'typeorm';

/** The rows and affected-row count of one statement. */
export interface StatementResult<T> {
  rows: T[];
  affected: number;
}

/**
 * Runs one parameterised statement on a pooled connection of the application's data source
 * and returns its rows and affected count (TypeORM's plain `query()` shapes UPDATE and DELETE
 * results differently from the others).
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
  } finally {
    await runner.release();
  }
}
