/**
 * The TypeORM connection of every contender built on this package, its tables migrated. Apart
 * from the harness so that contenders without the package (ceiling, floors) do not load it.
 */
import { DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SESSION_MIGRATIONS } from 'nest-session-security';
import { databaseUrl } from './harness';

export function sessionDataSource(): DynamicModule {
  return TypeOrmModule.forRoot({
    type: 'postgres',
    url: databaseUrl(),
    migrations: [...SESSION_MIGRATIONS],
    migrationsRun: true,
    logging: false,
  });
}
