import { Logger } from '@nestjs/common';
import { sha256 } from '../core/sha256';
import type { Pool, PoolClient, QueryConfig, QueryResult } from 'pg';
import { DataSource } from 'typeorm';
import { SessionStoreError } from '../errors/session.exceptions';

/**
 * A CTE named `commit_mode` that makes the statement's own transaction commit without waiting for
 * its WAL flush (`synchronous_commit = off`, local to that transaction): for statements whose loss
 * in a database crash costs nothing durable (touches, announcements). Join it in the FROM clause.
 */
export const ASYNCHRONOUS_COMMIT = `commit_mode AS (SELECT set_config('synchronous_commit', 'off', true))`;

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

/** One prepared statement per text, named alike in every process (PostgreSQL keeps them per connection). */
const preparedStatements = new Map<string, QueryConfig>();

/**
 * The statement's name and text sit on the prototype of the object given to pg: pg copies the
 * own properties of every query object it is handed (with property descriptors, measured at
 * about 1% of a read), and here there are none to copy.
 */
function preparedStatement(sql: string): QueryConfig {
  let statement = preparedStatements.get(sql);
  if (!statement) {
    const name = `nss_${sha256(sql).toString('hex').slice(0, 20)}`;
    statement = Object.create({ name, text: sql }) as QueryConfig;
    preparedStatements.set(sql, statement);
  }
  return statement;
}

/** Time-stamps as ISO text (every column is `timestamptz`): pg's own Date formatting is slower. */
function timestampText(value: unknown): unknown {
  return value instanceof Date ? value.toISOString() : value;
}

/** The pg pool of a data source (its writer pool under replication). */
export function poolOf(dataSource: DataSource): Pool {
  const pool = (dataSource.driver as { master?: Pool }).master;
  if (!pool?.query) {
    throw new Error('the data source has no PostgreSQL pool: is it a connected "postgres" one?');
  }
  return pool;
}

/** Where a statement runs: the data source's pool, or one client inside a transaction. */
export type StatementTarget = DataSource | PoolClient;

function failure(error: unknown): SessionStoreError {
  const wrapped = new SessionStoreError(String(error), { cause: error });
  logger.error(wrapped.message);
  return wrapped;
}

/** PostgreSQL's `deadlock_detected`: it aborted this transaction to break a cycle of lock waits. */
const DEADLOCK_DETECTED = '40P01';

/** How many times a statement or transaction the database aborted for a deadlock runs again. */
const DEADLOCK_RESTARTS = 3;

/** Whether pg's `error` is PostgreSQL aborting the transaction to break a deadlock. */
function deadlocked(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === DEADLOCK_DETECTED;
}

/** Whether `error` (from {@link runStatement}) is PostgreSQL breaking a deadlock. */
function isDeadlock(error: unknown): boolean {
  return error instanceof SessionStoreError && deadlocked(error.cause);
}

/**
 * Runs one parameterised statement on the pg pool of the application's TypeORM data source
 * (its writer pool under replication), without TypeORM's per-query runner, which measured
 * about a tenth of a write's time in `npm run bench`. Any failure (no connection, pool timeout,
 * a broken statement) is logged here, once, and rethrown as a {@link SessionStoreError}: a
 * 503 wherever it surfaces, so every caller fails closed.
 *
 * A statement of its own (on the pool, not inside a transaction) that PostgreSQL aborted to
 * break a deadlock left nothing behind, and runs again: statements that lock several rows (a
 * revocation of a user's sessions, a batch of writes or touches) may wait for each other in a
 * cycle, and the one the database picks must not turn into an outage for its caller.
 */
export function runStatement<T>(
  target: StatementTarget,
  sql: string,
  params: unknown[],
  options: StatementOptions = {},
): Promise<StatementResult<T>> {
  return send<T>(target, sql, params, options, 0);
}

/** {@link runStatement}, after `restarts` runs that PostgreSQL aborted for a deadlock. */
function send<T>(
  target: StatementTarget,
  sql: string,
  params: unknown[],
  options: StatementOptions,
  restarts: number,
): Promise<StatementResult<T>> {
  // Not an async function: pg's promise is continued once, not awaited in another promise
  // (one promise and one turn of the microtask queue fewer per statement). A synchronous
  // failure is a rejection all the same.
  let query: Promise<QueryResult>;
  const alone = 'driver' in target;
  try {
    const queryable = alone ? poolOf(target) : target;
    const values = params.map(timestampText);
    query =
      options.preparedStatements === false
        ? queryable.query(sql, values)
        : queryable.query(preparedStatement(sql), values);
  } catch (error) {
    return Promise.reject(failure(error));
  }
  return query.then(
    (result) => ({ rows: result.rows as T[], affected: result.rowCount ?? 0 }),
    (error: unknown) => {
      if (alone && deadlocked(error) && restarts < DEADLOCK_RESTARTS) {
        logger.warn(`A statement aborted to break a deadlock runs again (${restarts + 1}).`);
        return send<T>(target, sql, params, options, restarts + 1);
      }
      throw failure(error);
    },
  );
}

/**
 * Runs `work` in one transaction on one client of the data source's pool, after taking the
 * transaction-level advisory lock `key`: the work of every caller with the same key runs one
 * after the other, each seeing what the previous committed. Store failures become a
 * {@link SessionStoreError}; a failure of `work` rolls back and is rethrown as it is. When
 * PostgreSQL breaks a deadlock by aborting this transaction (two sign-ins of different users,
 * each evicting the session the other regenerates), everything it did is undone and `work`
 * runs again from the start, seeing what the other committed: the caller gets an answer, not
 * a 503 for a conflict it did not cause.
 */
export async function runLocked<T>(
  dataSource: DataSource,
  key: string,
  work: (client: PoolClient) => Promise<T>,
  options: StatementOptions = {},
): Promise<T> {
  for (let restarts = 0; ; restarts++) {
    try {
      return await runLockedOnce(dataSource, key, work, options);
    } catch (error) {
      if (!isDeadlock(error) || restarts === DEADLOCK_RESTARTS) throw error;
    }
  }
}

async function runLockedOnce<T>(
  dataSource: DataSource,
  key: string,
  work: (client: PoolClient) => Promise<T>,
  options: StatementOptions,
): Promise<T> {
  let client: PoolClient;
  try {
    client = await poolOf(dataSource).connect();
  } catch (error) {
    throw failure(error);
  }
  let broken: unknown = undefined;
  try {
    await runStatement(client, 'BEGIN', [], { preparedStatements: false });
    await runStatement(
      client,
      `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
      [key],
      options,
    );
    const result = await work(client);
    await runStatement(client, 'COMMIT', [], { preparedStatements: false });
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollback: unknown) => (broken = rollback));
    throw error;
  } finally {
    client.release(broken instanceof Error ? broken : undefined);
  }
}
