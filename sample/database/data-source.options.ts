import type { TypeOrmModuleOptions } from '@nestjs/typeorm';
import { SESSION_MIGRATIONS } from 'nest-session-security';
import { SAMPLE_MIGRATIONS } from './sample-migrations';

/**
 * The sample's one data source: the package's `session` table and the sample's `users` table,
 * both created by migrations at start (never by `synchronize`, which would not know the
 * session table's constraints).
 */
export function dataSourceOptions(url: string): TypeOrmModuleOptions {
  return {
    type: 'postgres',
    url,
    autoLoadEntities: true,
    synchronize: false,
    migrations: [...SESSION_MIGRATIONS, ...SAMPLE_MIGRATIONS],
    migrationsRun: true,
    // Fail fast at start when the database cannot be reached, rather than retrying for minutes.
    retryAttempts: 2,
    retryDelay: 1000,
  };
}
