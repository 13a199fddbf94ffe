import { Provider } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SessionSetupError } from '../core/errors';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options.token';
import type { ResolvedSessionOptions } from '../options/resolve-session-options';
import { PostgresRememberMeRepository } from './postgres-remember-me.repository';
import { RememberMeTokenEntity } from './remember-me-token.entity';
import { RememberMeRepository } from './remember-me.repository';
import { PostgresSessionRepository } from './postgres-session.repository';
import { SessionServerKeyEntity } from './server-key.entity';
import { SessionEntity } from './session.entity';
import { boundRepository, SessionRepositories } from './repository-bindings';
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

/** The data source when the module has one; `undefined` otherwise (an optional dependency). */
function optionalDataSource(dataSource: string | undefined) {
  return { token: getDataSourceToken(dataSource), optional: true };
}

/**
 * Binds {@link SessionRepository} and {@link RememberMeRepository}: to the application's own
 * stores where `repositories` names them, else to PostgreSQL on the named (or default) TypeORM
 * data source; and the start-up check of the tables of those that are the package's own. The
 * data source is required only while one of them is: its absence is then reported in the
 * package's words.
 */
export function storageProviders(
  dataSource: string | undefined,
  repositories: SessionRepositories = {},
): Provider[] {
  const postgres = [SESSION_DATA_SOURCE, RESOLVED_SESSION_OPTIONS];
  const usesPostgres = !repositories.session || !repositories.rememberMe;
  return [
    ...(usesPostgres
      ? [
          {
            provide: SESSION_DATA_SOURCE,
            useFactory: (source: DataSource | undefined) => requirePostgres(source, dataSource),
            inject: [optionalDataSource(dataSource)],
          },
        ]
      : []),
    repositories.session
      ? boundRepository(SessionRepository, repositories.session)
      : {
          provide: SessionRepository,
          useFactory: (source: DataSource, options: ResolvedSessionOptions) =>
            new PostgresSessionRepository(source, options),
          inject: postgres,
        },
    repositories.rememberMe
      ? boundRepository(RememberMeRepository, repositories.rememberMe)
      : {
          provide: RememberMeRepository,
          useFactory: (source: DataSource, options: ResolvedSessionOptions) =>
            new PostgresRememberMeRepository(source, options),
          inject: postgres,
        },
    {
      provide: SessionStorageCheck,
      // Only the tables of the package's own repositories (or subclasses of them): one an
      // application put in their place keeps its data where it chooses.
      useFactory: (
        source: DataSource | undefined,
        sessions: SessionRepository,
        rememberMe: RememberMeRepository,
      ) => {
        const tables = [
          ...(sessions instanceof PostgresSessionRepository
            ? [requiredTable(SessionEntity), requiredTable(SessionServerKeyEntity)]
            : []),
          ...(rememberMe instanceof PostgresRememberMeRepository
            ? [requiredTable(RememberMeTokenEntity)]
            : []),
        ];
        return new SessionStorageCheck(
          dataSource,
          tables.length === 0 ? undefined : { source: requirePostgres(source, dataSource), tables },
        );
      },
      inject: [optionalDataSource(dataSource), SessionRepository, RememberMeRepository],
    },
  ];
}
