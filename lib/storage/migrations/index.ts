import { CreateSessionTable1764000000000 } from './1764000000000-create-session-table';

/**
 * The package's migrations, in order, to add to a data source's `migrations` list.
 *
 * @example
 * TypeOrmModule.forRoot({ type: 'postgres', url, migrations: [...SESSION_MIGRATIONS], migrationsRun: true })
 */
export const SESSION_MIGRATIONS = [CreateSessionTable1764000000000];

export { CreateSessionTable1764000000000 };
