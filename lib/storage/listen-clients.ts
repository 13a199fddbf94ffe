import type { FactoryProvider } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { Client, ClientConfig } from 'pg';
import { DataSource } from 'typeorm';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options.token';
import type { ResolvedSessionOptions } from '../options/resolve-session-options';
import { PostgresSessionRepository } from '../storage/postgres-session.repository';
import { poolOf } from '../storage/run-statement';
import { SessionRepository } from '../storage/session.repository';
import { CONNECT_TIMEOUT_MS } from './listen-timings';

/** A new, unconnected client for the connection that listens for ended sessions. */
export type ListenClientFactory = () => Client;

/**
 * The {@link ListenClientFactory} of the module (internal token): `null` when the sessions are
 * not in the package's PostgreSQL repository, so nothing can be listened to.
 */
export const LISTEN_CLIENTS = Symbol('nest-session-security:listen-clients');

/** What TypeORM's PostgreSQL driver holds: the pg library it loaded. */
interface PgDriver {
  postgres?: { Client?: new (config: ClientConfig) => Client };
}

/**
 * The settings of the listening connection: `listenConnection` as it is, or else those of the
 * data source's pool (its writer under replication: a standby cannot `LISTEN`), read at each
 * attempt. Keep-alive on, and a connect timeout where none is set: an attempt must not hang.
 */
function listenConfig(source: DataSource, listenConnection: string | undefined): ClientConfig {
  const base: ClientConfig =
    listenConnection === undefined
      ? { ...(poolOf(source) as unknown as { options: ClientConfig }).options }
      : { connectionString: listenConnection };
  return {
    ...base,
    connectionTimeoutMillis: base.connectionTimeoutMillis || CONNECT_TIMEOUT_MS,
    keepAlive: true,
  };
}

/**
 * Opens clients of the pg library the data source uses (the same module instance, whatever the
 * application's module system), each a connection of its own outside the pool.
 */
export function listenClients(
  source: DataSource,
  listenConnection: string | undefined,
): ListenClientFactory {
  return () => {
    const PgClient = (source.driver as PgDriver).postgres?.Client;
    if (!PgClient) throw new Error('the data source has no pg library: is it a "postgres" one?');
    return new PgClient(listenConfig(source, listenConnection));
  };
}

/**
 * Provides {@link LISTEN_CLIENTS} in `SessionModule`: on the module's data source when the
 * sessions are in the package's PostgreSQL repository (or a subclass of it, which the start-up
 * check also takes to be on that data source); `null` with a store of the application's own.
 */
export function listenClientsProvider(
  dataSource: string | undefined,
): FactoryProvider<ListenClientFactory | null> {
  return {
    provide: LISTEN_CLIENTS,
    useFactory: (
      source: DataSource | undefined,
      sessions: SessionRepository,
      options: ResolvedSessionOptions,
    ) =>
      source && sessions instanceof PostgresSessionRepository
        ? listenClients(source, options.listenConnection)
        : null,
    inject: [
      { token: getDataSourceToken(dataSource), optional: true },
      SessionRepository,
      RESOLVED_SESSION_OPTIONS,
    ],
  };
}
