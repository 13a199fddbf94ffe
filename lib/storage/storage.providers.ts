import { Provider } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { PostgresRememberMeRepository } from '../remember-me/postgres-remember-me.repository';
import { RememberMeRepository } from '../remember-me/remember-me.repository';
import { PostgresSessionRepository } from './postgres-session.repository';
import { SessionRepository } from './session.repository';

/**
 * Binds {@link SessionRepository} and {@link RememberMeRepository} to PostgreSQL on the named
 * (or default) TypeORM data source.
 */
export function storageProviders(dataSource?: string): Provider[] {
  const inject = [getDataSourceToken(dataSource)];
  return [
    {
      provide: SessionRepository,
      useFactory: (source: DataSource) => new PostgresSessionRepository(source),
      inject,
    },
    {
      provide: RememberMeRepository,
      useFactory: (source: DataSource) => new PostgresRememberMeRepository(source),
      inject,
    },
  ];
}
