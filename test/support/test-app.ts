import { DynamicModule, INestApplication, Provider, Type } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import {
  Clock,
  ManualClock,
  RememberMeRepository,
  SessionCache,
  SessionEvent,
  SessionEvents,
  SESSION_MIGRATIONS,
  SessionGuard,
  SessionModule,
  SessionModuleOptions,
  SessionRepositories,
  SessionRepository,
} from 'nest-session-security';
import type { Pool, PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { testDatabaseUrl, usesEmbeddedPostgres } from './database-url';
import { TestController, TestGate } from './test.controller';

export type Adapter = 'express' | 'fastify';
export const ADAPTERS: Adapter[] = ['express', 'fastify'];

/** The moment test clocks start at. */
export const T0 = new Date('2030-01-01T00:00:00.000Z');

/**
 * Counts the SQL statements that touch the session table, as the pg clients of the data
 * source's pool send them: the package sends its statements on that pool directly, the test
 * helpers through TypeORM, and both reach the same clients.
 */
export class StatementCounter {
  count = 0;
  /** How many of them were sent as named prepared statements. */
  prepared = 0;
  readonly statements: string[] = [];
  private readonly watched = new WeakSet<PoolClient>();

  watch(dataSource: DataSource): void {
    const pool = (dataSource.driver as unknown as { master: Pool }).master;
    pool.on('acquire', (client) => {
      if (this.watched.has(client)) return;
      this.watched.add(client);
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: typeof query }).query = (...args: unknown[]) => {
        const config = args[0] as string | { text?: string; name?: string };
        if (typeof config === 'string') this.note(config, false);
        else this.note(config.text ?? '', config.name !== undefined);
        return query(...args);
      };
    });
  }

  private note(query: string, prepared: boolean): void {
    if (!/"session"/.test(query) || /information_schema|pg_catalog|"migrations"/i.test(query))
      return;
    this.count++;
    if (prepared) this.prepared++;
    this.statements.push(query.replace(/\s+/g, ' ').trim());
  }

  reset(): void {
    this.count = 0;
    this.prepared = 0;
    this.statements.length = 0;
  }
}

export interface TestAppSetup {
  /** Options for `SessionModule.forRoot`; ignored when `sessionModule` is given. */
  options?: SessionModuleOptions;
  /** A whole session module import (for the forRootAsync variants). */
  sessionModule?: DynamicModule;
  controllers?: Type[];
  providers?: Provider[];
  imports?: DynamicModule[];
  /** Register the guard globally (default true). */
  globalGuard?: boolean;
  /** Trust X-Forwarded-* headers (Express `trust proxy`, Fastify `trustProxy`). */
  trustProxy?: boolean;
  /** Changes to the app before it starts (a WebSocket adapter, say). */
  configure?: (app: INestApplication) => void;
  /** The database URL of the app's data source (default: the test database). */
  databaseUrl?: string;
  /** Return only once the session cache is in use (default true). */
  waitForCache?: boolean;
}

export interface TestApp {
  app: INestApplication;
  url: string;
  clock: ManualClock;
  dataSource: DataSource;
  statements: StatementCounter;
  gate: TestGate;
  /** Every session event emitted since the app started (tests empty it as they need). */
  events: SessionEvent[];
  close(): Promise<void>;
}

export function typeOrmRoot(name?: string, url = testDatabaseUrl()): DynamicModule {
  return TypeOrmModule.forRoot({
    name,
    type: 'postgres',
    url,
    migrations: SESSION_MIGRATIONS,
    migrationsRun: true,
    logging: false,
  });
}

/**
 * Options every test app needs on the database it runs on: the embedded PostgreSQL (PGlite)
 * serves every connection from one backend, where prepared statement names would collide.
 */
export function storageOptions(): SessionModuleOptions {
  return usesEmbeddedPostgres() ? { preparedStatements: false } : {};
}

/** A test's subclass of a PostgreSQL repository: one that holds or counts statements. */
type PostgresSubclass<T> = new (dataSource: DataSource, options: SessionModuleOptions) => T;

/** The option `repositories` binding a test's subclasses of the PostgreSQL repositories. */
export function postgresSubclasses(classes: {
  session?: PostgresSubclass<SessionRepository>;
  rememberMe?: PostgresSubclass<RememberMeRepository>;
}): SessionRepositories {
  const bind = <T>(Subclass: PostgresSubclass<T>) => ({
    useFactory: (dataSource: DataSource): T => new Subclass(dataSource, storageOptions()),
    inject: [getDataSourceToken()],
  });
  return {
    ...(classes.session && { session: bind(classes.session) }),
    ...(classes.rememberMe && { rememberMe: bind(classes.rememberMe) }),
  };
}

/**
 * The suites other than the CSRF one send unsafe requests without tokens, as API clients do:
 * CSRF is off for them unless a suite configures it (csrf.e2e-spec.ts covers it on its own).
 */
function withDefaults(options: SessionModuleOptions = {}): SessionModuleOptions {
  return { csrf: { enabled: false }, ...storageOptions(), ...options };
}

/** The session caches of the apps running in this test file. */
const runningCaches = new Set<SessionCache>();

/** SQL a test sends that changes session rows behind the apps' backs. */
const CHANGES_SESSIONS = /^\s*(?:UPDATE|DELETE|TRUNCATE|WITH)\b[\s\S]*"?session"?(?:\s|,|$)/i;

/**
 * A test that changes session rows with plain SQL then sends a request expects the request to
 * see the change: every query of a test's data source that changes sessions empties the cache
 * of every running app (as a test of an application would with `SessionCache.clear`).
 */
function clearingCaches(dataSource: DataSource): void {
  const query = dataSource.query.bind(dataSource) as DataSource['query'];
  dataSource.query = (async (sql: string, parameters?: unknown[]) => {
    const result = await query(sql, parameters);
    if (CHANGES_SESSIONS.test(sql)) for (const cache of runningCaches) cache.clear();
    return result;
  }) as DataSource['query'];
}

async function cacheListening(cache: SessionCache): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cache.usable) {
    if (Date.now() > deadline) throw new Error('the session cache did not start listening');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Whether the app answers reads from its session cache (CI runs the suites with and without). */
export function readsFromCache(t: TestApp): boolean {
  return (t.app.get(SessionCache, { strict: false }) as SessionCache | null)?.usable ?? false;
}

/** Builds and starts a Nest app on a random port with the session module on the test database. */
export async function startApp(adapter: Adapter, setup: TestAppSetup = {}): Promise<TestApp> {
  const clock = new ManualClock(T0);
  const statements = new StatementCounter();
  const moduleRef = await Test.createTestingModule({
    imports: [
      typeOrmRoot(undefined, setup.databaseUrl),
      setup.sessionModule ?? SessionModule.forRoot(withDefaults(setup.options)),
      ...(setup.imports ?? []),
    ],
    controllers: setup.controllers ?? [TestController],
    providers: [
      TestGate,
      ...(setup.globalGuard === false ? [] : [{ provide: APP_GUARD, useClass: SessionGuard }]),
      ...(setup.providers ?? []),
    ],
  })
    .overrideProvider(Clock)
    .useValue(clock)
    .compile();
  const app =
    adapter === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter({ trustProxy: setup.trustProxy }), {
          logger: false,
        })
      : moduleRef.createNestApplication({ logger: false });
  if (adapter === 'express' && setup.trustProxy) {
    app.getHttpAdapter().getInstance().set('trust proxy', true);
  }
  setup.configure?.(app);
  await app.init();
  if (adapter === 'fastify') await app.getHttpAdapter().getInstance().ready();
  await app.listen(0, '127.0.0.1');
  // Clients that keep connections alive (the model test's) may pause longer than Express's
  // 5 s default on a loaded machine; a server closing an idle connection as the client reuses
  // it would look like a failure of the request.
  (app.getHttpServer() as { keepAliveTimeout: number }).keepAliveTimeout = 75_000;
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const dataSource = app.get(DataSource);
  statements.watch(dataSource);
  const cache = app.get(SessionCache, { strict: false }) as SessionCache | null;
  if (cache) {
    runningCaches.add(cache);
    clearingCaches(dataSource);
    // Every test then runs in one mode from its first request: the cache in use.
    if (setup.waitForCache !== false) await cacheListening(cache);
  }
  const events: SessionEvent[] = [];
  app.get(SessionEvents).subscribe((event) => events.push(event));
  return {
    events,
    app,
    url,
    clock,
    dataSource,
    statements,
    gate: app.get(TestGate),
    close: async () => {
      if (cache) runningCaches.delete(cache);
      await app.close();
    },
  };
}

/**
 * Starts one app for the enclosing `describe` and closes it after; before each test the tables
 * are emptied and the clock, statement counter and event list reset. The returned object is
 * filled in when the app has started.
 */
export function useTestApp(adapter: Adapter, setup?: TestAppSetup): TestApp {
  const t = {} as TestApp;
  beforeAll(async () => {
    Object.assign(t, await startApp(adapter, setup));
  });
  afterAll(() => t.close());
  beforeEach(async () => {
    await t.dataSource.query(`TRUNCATE "session", "remember_me_token"`);
    t.clock.set(T0);
    t.statements.reset();
    t.events.length = 0;
  });
  return t;
}

/** An event as the suites read it: its `type`, and any field by name. */
export type LooseEvent = { type: string; [key: string]: unknown };

/** The events of one type emitted since the test began. */
export function eventsOf(t: TestApp, type: string): LooseEvent[] {
  return (t.events as unknown as LooseEvent[]).filter((event) => event.type === type);
}

/** Moves the injected clock to `ms` after T0. */
export function clockAt(t: TestApp, ms: number): void {
  t.clock.set(new Date(T0.getTime() + ms));
}
