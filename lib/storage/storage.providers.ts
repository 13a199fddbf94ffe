import { Provider } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SessionSetupError } from '../core/errors';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options.provider';
import type { ResolvedSessionOptions } from '../options/resolve-session-options';
import { PostgresRememberMeRepository } from '../remember-me/postgres-remember-me.repository';
import { RememberMeTokenEntity } from '../remember-me/remember-me-token.entity';
import { RememberMeRepository } from '../remember-me/remember-me.repository';
import { PostgresSessionRepository } from './postgres-session.repository';
import { SessionServerKeyEntity } from './server-key.entity';
import { SessionEntity } from './session.entity';
import { SessionRepository } from './session.repository';
import { dataSourceLabel, SessionStorageCheck } from './storage-check';
import { requiredTable } from './storage-schema';

/** The module's data source, once it is known to exist (internal token). */
const SESSION_DATA_SOURCE = Symbol('nest-session-security:data-source');

/**
 * The message for a data source that no module provides, in place of Nest's generic "can't
 * resolve dependencies of SessionRepository", whose advice (import it into SessionModule) is
 * not what an application does: `TypeOrmModule.forRoot` registers its data source globally.
 */
function missingDataSourceMessage(name: string | undefined): string {
  if (name === undefined) {
    return [
      'SessionModule found no TypeORM data source: the sessions are stored through @nestjs/typeorm.',
      'Import TypeOrmModule.forRoot({ type: "postgres", ..., migrations: [...SESSION_MIGRATIONS], migrationsRun: true })',
      '(or TypeOrmModule.forRootAsync) in your root module, next to SessionModule; its data source is',
      'global, so SessionModule needs no import of its own. To use a named data source, give its name',
      'beside the options: SessionModule.forRoot({ dataSource: "name", ... }) or',
      'SessionModule.forRootAsync({ dataSource: "name", useFactory: ... }).',
    ].join('\n');
  }
  return [
    `SessionModule found no TypeORM data source named "${name}" (its dataSource option).`,
    `Register it in your root module with TypeOrmModule.forRoot({ name: "${name}", type: "postgres", ... })`,
    '(or forRootAsync with that name), or set dataSource to the name of a data source the application',
    'has; leave dataSource out to use the unnamed (default) one.',
  ].join('\n');
}

/** The data source when there is one of PostgreSQL; the package's own error otherwise. */
function requirePostgres(source: DataSource | undefined, name: string | undefined): DataSource {
  if (source === undefined || source === null) {
    throw new SessionSetupError(missingDataSourceMessage(name));
  }
  const type = (source.options as { type?: unknown } | undefined)?.type;
  if (type !== undefined && type !== 'postgres') {
    throw new SessionSetupError(
      `SessionModule stores sessions in PostgreSQL, but TypeORM data source "${dataSourceLabel(name)}" is of type "${String(type)}": ` +
        'give it a "postgres" data source (the dataSource option names one other than the default).',
    );
  }
  return source;
}

/**
 * Binds {@link SessionRepository} and {@link RememberMeRepository} to PostgreSQL on the named
 * (or default) TypeORM data source, and the start-up check of their tables. The data source is
 * an optional dependency so that its absence is reported in the package's words.
 */
export function storageProviders(dataSource?: string): Provider[] {
  const inject = [SESSION_DATA_SOURCE, RESOLVED_SESSION_OPTIONS];
  return [
    {
      provide: SESSION_DATA_SOURCE,
      useFactory: (source: DataSource | undefined) => requirePostgres(source, dataSource),
      inject: [{ token: getDataSourceToken(dataSource), optional: true }],
    },
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
    {
      provide: SessionStorageCheck,
      // Only the tables of the package's own repositories: one an application put in their
      // place keeps its data where it chooses.
      useFactory: (
        source: DataSource,
        sessions: SessionRepository,
        rememberMe: RememberMeRepository,
      ) =>
        new SessionStorageCheck(source, dataSource, [
          ...(sessions instanceof PostgresSessionRepository
            ? [requiredTable(SessionEntity), requiredTable(SessionServerKeyEntity)]
            : []),
          ...(rememberMe instanceof PostgresRememberMeRepository
            ? [requiredTable(RememberMeTokenEntity)]
            : []),
        ]),
      inject: [SESSION_DATA_SOURCE, SessionRepository, RememberMeRepository],
    },
  ];
}
