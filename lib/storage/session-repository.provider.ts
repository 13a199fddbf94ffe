import { Provider } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { PostgresSessionRepository } from './postgres-session.repository';
import { SessionRepository } from './session.repository';

/** Binds {@link SessionRepository} to PostgreSQL on the named (or default) TypeORM data source. */
export function sessionRepositoryProvider(dataSource?: string): Provider {
  return {
    provide: SessionRepository,
    useFactory: (source: DataSource) => new PostgresSessionRepository(source),
    inject: [getDataSourceToken(dataSource)],
  };
}
