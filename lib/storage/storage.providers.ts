import { Provider } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options.provider';
import type { ResolvedSessionOptions } from '../options/resolve-session-options';
import { PostgresRememberMeRepository } from '../remember-me/postgres-remember-me.repository';
import { RememberMeRepository } from '../remember-me/remember-me.repository';
import { PostgresSessionRepository } from './postgres-session.repository';
import { SessionRepository } from './session.repository';

/**
 * Binds {@link SessionRepository} and {@link RememberMeRepository} to PostgreSQL on the named
 * (or default) TypeORM data source.
 */
export function storageProviders(dataSource?: string): Provider[] {
  const inject = [getDataSourceToken(dataSource), RESOLVED_SESSION_OPTIONS];
  return [
    {
      provide: SessionRepository,
      useFactory: (source: DataSource, options: ResolvedSessionOptions) =>
        new PostgresSessionRepository(source, options),
      inject,
    },
    {
      provide: RememberMeRepository,
      useFactory: (source: DataSource, options: ResolvedSessionOptions) =>
        new PostgresRememberMeRepository(source, options),
      inject,
    },
  ];
}
