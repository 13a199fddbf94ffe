import { DataSource } from 'typeorm';
import { SessionSetupError } from '../core/errors';
import { poolOf } from './run-statement';
import { FoundTable, missingSchema, RequiredTable } from './storage-schema';

/**
 * How long start-up waits for the database to answer: a database that is away must not hold
 * the application's start (pg's pool has no connection timeout unless one is configured).
 */
const ANSWER_TIMEOUT = 5_000;

/**
 * The columns and the triggers of each of the named tables that the search path finds (absent
 * tables: no row). One round trip: the start-up waits for it.
 */
const SCHEMA_SQL = `
  SELECT wanted.name AS "table", 'column' AS "kind", attribute.attname AS "name"
  FROM unnest($1::text[]) AS wanted(name)
  JOIN pg_attribute AS attribute
    ON attribute.attrelid = to_regclass(quote_ident(wanted.name))
   AND attribute.attnum > 0
   AND NOT attribute.attisdropped
  UNION ALL
  SELECT wanted.name, 'trigger', trigger.tgname
  FROM unnest($1::text[]) AS wanted(name)
  JOIN pg_trigger AS trigger
    ON trigger.tgrelid = to_regclass(quote_ident(wanted.name))
   AND NOT trigger.tgisinternal`;

/** The outcome of the start-up check when it did not stop the start. */
export type StorageReadiness = { reachable: true } | { reachable: false; reason: string };

/** A data source's name as messages give it: the one set on `TypeOrmModule`, or `default`. */
export function dataSourceLabel(name: string | undefined): string {
  return name ?? 'default';
}

function failureText(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return [code, message].filter((part) => typeof part === 'string' && part !== '').join(': ');
}

function withinTimeout<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${ANSWER_TIMEOUT / 1000} s`)),
      ANSWER_TIMEOUT,
    );
    timer.unref();
  });
  // The query may still fail after the timeout won: that failure has nothing left to report.
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Checks at start-up that the package's tables exist on the data source with every column the
 * package's statements use, and the triggers that signal ended sessions. Missing ones stop the start with a {@link SessionSetupError} that
 * says to run `SESSION_MIGRATIONS`; a database that does not answer does not (requests answer
 * 503 until it is back), and is reported to the caller instead.
 */
export class SessionStorageCheck {
  constructor(
    /** The `dataSource` extra: `undefined` for the default data source. */
    readonly dataSourceName: string | undefined,
    /**
     * The tables of the repositories that are the package's own (not replaced by the
     * application), and the data source that holds them; `undefined` when there are none.
     */
    private readonly target: { source: DataSource; tables: RequiredTable[] } | undefined,
  ) {}

  async verify(): Promise<StorageReadiness> {
    if (!this.target) return { reachable: true };
    const { source, tables } = this.target;
    let found: Map<string, FoundTable>;
    try {
      found = await withinTimeout(this.readSchema(source, tables));
    } catch (error) {
      return { reachable: false, reason: failureText(error) || 'unknown failure' };
    }
    const missing = missingSchema(tables, found);
    if (missing.length > 0) throw new SessionSetupError(this.missingMessage(source, missing));
    return { reachable: true };
  }

  private async readSchema(
    source: DataSource,
    tables: RequiredTable[],
  ): Promise<Map<string, FoundTable>> {
    const result = await poolOf(source).query<{
      table: string;
      kind: 'column' | 'trigger';
      name: string;
    }>(SCHEMA_SQL, [tables.map((table) => table.name)]);
    const found = new Map<string, { columns: Set<string>; triggers: Set<string> }>();
    for (const { table, kind, name } of result.rows) {
      let present = found.get(table);
      if (!present) found.set(table, (present = { columns: new Set(), triggers: new Set() }));
      (kind === 'column' ? present.columns : present.triggers).add(name);
    }
    return found;
  }

  private missingMessage(source: DataSource, missing: string[]): string {
    const database = (source.driver as { database?: unknown } | undefined)?.database;
    const where =
      `TypeORM data source "${dataSourceLabel(this.dataSourceName)}"` +
      (typeof database === 'string' ? ` (database "${database}")` : '');
    return [
      `The session tables on ${where} are missing or out of date: the package's migrations have not run there.`,
      ...missing.map((line) => ` - ${line}`),
      'Run SESSION_MIGRATIONS on that data source: add them to its options,',
      '   TypeOrmModule.forRoot({ ..., migrations: [...SESSION_MIGRATIONS], migrationsRun: true }),',
      'or run them with the TypeORM CLI before starting the application. With `synchronize`',
      'instead of migrations, list SessionEntity, RememberMeTokenEntity and SessionServerKeyEntity',
      'in its `entities`, and SessionEndedNotification1764000000004 and',
      'SessionChangedNotification1764000000005 in its `migrations` (with `migrationsRun: true`):',
      '`synchronize` creates no triggers.',
    ].join('\n');
  }
}
