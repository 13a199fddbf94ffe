import {
  Controller,
  DynamicModule,
  Get,
  Global,
  INestApplication,
  Injectable,
  LoggerService,
  Module,
  Provider,
  Type,
  UseGuards,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test, TestingModule } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  Clock,
  ManualClock,
  PostgresSessionRepository,
  SESSION_MIGRATIONS,
  SessionGuard,
  SessionModule,
  SessionModuleOptions,
  SessionOptionsError,
  SessionSetupError,
  SessionStoreError,
} from 'nest-session-security';
import request from 'supertest';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import {
  createTestDatabase,
  dropTestDatabase,
  runDatabaseName,
  testDatabaseUrl,
} from './support/database-url';
import { TcpProxy } from './support/tcp-proxy';
import { Adapter, ADAPTERS, storageOptions, T0, typeOrmRoot } from './support/test-app';
import { COOKIE, sessionCookies } from './support/http-client';
import { TestController, TestGate } from './support/test.controller';

const PRE_SESSION = /^p\./;
const STORED_SESSION = /^[A-Za-z0-9_-]{43}$/;

/** The session cookie `GET /csrf` hands a visitor without one. */
async function tokenCookie(url: string): Promise<string> {
  const response = await request(url).get('/csrf');
  expect(response.status).toBe(200);
  return sessionCookies(response, COOKIE)[0]?.value ?? '';
}

/**
 * The token cookie once the server key loads again: the first request due a retry starts the
 * load in the background, so a few more requests may still get stored sessions (at most 20).
 */
async function tokenCookieOnceKeyLoads(url: string): Promise<string> {
  let cookie = '';
  for (let attempt = 0; attempt < 20 && !PRE_SESSION.test(cookie); attempt++) {
    cookie = await tokenCookie(url);
  }
  return cookie;
}

/** What the application's logger received, with each message's context. */
class CapturingLogger implements LoggerService {
  readonly entries: { level: string; message: string; context: unknown }[] = [];
  private record(level: string, message: unknown, context: unknown): void {
    this.entries.push({ level, message: String(message), context });
  }
  log(message: unknown, context?: unknown): void {
    this.record('log', message, context);
  }
  error(message: unknown, _stack?: unknown, context?: unknown): void {
    this.record('error', message, context);
  }
  warn(message: unknown, context?: unknown): void {
    this.record('warn', message, context);
  }
  debug(): void {}
  verbose(): void {}
  fatal(message: unknown): void {
    this.record('fatal', message, undefined);
  }

  /** The warnings logged under `context`. */
  warnings(context = 'SessionModule'): string[] {
    return this.entries
      .filter((entry) => entry.level === 'warn' && entry.context === context)
      .map((entry) => entry.message);
  }

  errors(): string[] {
    return this.entries.filter((entry) => entry.level === 'error').map((entry) => entry.message);
  }
}

interface Setup {
  adapter?: Adapter;
  /** The TypeORM import(s); default: the suites' migrated database. */
  typeOrm?: DynamicModule[];
  options?: SessionModuleOptions;
  sessionModule?: DynamicModule;
  controllers?: Type[];
  providers?: Provider[];
  /** Runs between creating the application and `init()` (as `main.ts` does before `listen`). */
  beforeInit?: (app: INestApplication) => void;
  trustProxy?: boolean;
  clock?: ManualClock;
  /** Runs between compiling the module and creating the application. */
  afterCompile?: (moduleRef: TestingModule) => Promise<void>;
}

interface Started {
  app: INestApplication;
  logs: CapturingLogger;
  url: string;
}

/**
 * Starts an application as `main.ts` does, with a logger that keeps what it receives. A start
 * that fails closes what was opened and rethrows, with the logs on the error's `logs`.
 */
async function start(setup: Setup = {}): Promise<Started> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      ...(setup.typeOrm ?? [typeOrmRoot()]),
      setup.sessionModule ??
        SessionModule.forRoot({ csrf: { enabled: false }, ...storageOptions(), ...setup.options }),
    ],
    controllers: setup.controllers ?? [TestController],
    providers: [TestGate, ...(setup.providers ?? [])],
  })
    .overrideProvider(Clock)
    .useValue(setup.clock ?? new ManualClock(T0))
    .compile();
  await setup.afterCompile?.(moduleRef);
  const logs = new CapturingLogger();
  const app =
    setup.adapter === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter({ trustProxy: setup.trustProxy }), {
          logger: logs,
        })
      : moduleRef.createNestApplication({ logger: logs });
  if (setup.adapter !== 'fastify' && setup.trustProxy) {
    app.getHttpAdapter().getInstance().set('trust proxy', true);
  }
  try {
    setup.beforeInit?.(app);
    await app.init();
    if (setup.adapter === 'fastify') await app.getHttpAdapter().getInstance().ready();
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, logs, url };
}

/** The error a start fails with (the test fails when it starts). */
async function startFailure(setup: Setup): Promise<Error> {
  try {
    const started = await start(setup);
    await started.app.close();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the application not to start');
}

/** The warnings a start logged under `SessionModule` (the app is closed again). */
async function startupWarnings(setup: Setup): Promise<string[]> {
  const { app, logs } = await start(setup);
  await app.close();
  return logs.warnings();
}

/** A TypeORM data source on `url` with the given migrations run. */
function typeOrmOn(
  url: string,
  migrations: (typeof SESSION_MIGRATIONS)[number][] = [],
  name?: string,
): DynamicModule {
  return TypeOrmModule.forRoot({
    name,
    type: 'postgres',
    url,
    migrations,
    migrationsRun: migrations.length > 0,
    logging: false,
  });
}

/**
 * Resolves once the pool has dropped the connections a cut closed, so that the next query opens
 * a new one rather than failing at once on a dead one.
 */
async function idleConnectionsGone(dataSource: DataSource): Promise<void> {
  const pool = (dataSource.driver as unknown as { master: Pool }).master;
  while (pool.idleCount > 0) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** Stands in for a data source where a test never reaches the database (compile-time errors). */
@Global()
@Module({ providers: [{ provide: DataSource, useValue: {} }], exports: [DataSource] })
class StandInDataSourceModule {}

describe('issue 13 §2 migrations not run: the start stops, naming SESSION_MIGRATIONS and the data source', () => {
  const name = runDatabaseName('unmigrated');
  let url: string;

  beforeEach(async () => {
    url = await createTestDatabase(name);
  });
  afterEach(() => dropTestDatabase(name));

  it('a database without the tables: every table is named, and no request is ever served', async () => {
    const error = await startFailure({ typeOrm: [typeOrmOn(url)] });
    expect(error).toBeInstanceOf(SessionSetupError);
    expect(error.name).toBe('SessionSetupError');
    expect(error.message).toContain(`TypeORM data source "default" (database "${name}")`);
    expect(error.message).toContain('table "session" does not exist');
    expect(error.message).toContain('table "remember_me_token" does not exist');
    expect(error.message).toContain('table "session_server_key" does not exist');
    expect(error.message).toContain('migrations: [...SESSION_MIGRATIONS], migrationsRun: true');
  });

  it('a database migrated to an older version: the columns and table of the later migrations are named', async () => {
    const error = await startFailure({ typeOrm: [typeOrmOn(url, SESSION_MIGRATIONS.slice(0, 2))] });
    expect(error).toBeInstanceOf(SessionSetupError);
    const lines = error.message.split('\n').filter((line) => line.startsWith(' - '));
    expect(lines).toEqual([
      ' - table "session" has no columns "obsoleted_by", "presented_at", "remember_me_handle"',
      ' - table "session" has no triggers "session_ended_on_update", "session_ended_on_delete", "session_changed_on_truncate"',
      ' - table "session_server_key" does not exist',
    ]);
  });

  it('a database without the last migration: the triggers that signal changed sessions are named', async () => {
    const error = await startFailure({ typeOrm: [typeOrmOn(url, SESSION_MIGRATIONS.slice(0, 5))] });
    expect(error).toBeInstanceOf(SessionSetupError);
    const lines = error.message.split('\n').filter((line) => line.startsWith(' - '));
    expect(lines).toEqual([' - table "session" has no trigger "session_changed_on_truncate"']);
    expect(error.message).toContain('SessionChangedNotification1764000000005 in its `migrations`');
    expect(error.message).toContain('`synchronize` creates no triggers');
  });

  it('a named data source without the tables is named in the error', async () => {
    const error = await startFailure({
      typeOrm: [typeOrmRoot(), typeOrmOn(url, [], 'sessions')],
      sessionModule: SessionModule.forRoot({
        dataSource: 'sessions',
        csrf: { enabled: false },
        ...storageOptions(),
      }),
    });
    expect(error).toBeInstanceOf(SessionSetupError);
    expect(error.message).toContain('TypeORM data source "sessions"');
    expect(error.message).toContain('SESSION_MIGRATIONS');
  });
});

describe('issue 13 §2 a database that cannot be reached at start-up does not stop the start', () => {
  let proxy: TcpProxy;
  beforeEach(async () => {
    proxy = TcpProxy.for(testDatabaseUrl());
    await proxy.start();
  });
  afterEach(() => proxy.close());

  it('one warning, no failed statement logged, 503 while away and service once it is back', async () => {
    const clock = new ManualClock(T0);
    const { app, logs, url } = await start({
      clock,
      typeOrm: [typeOrmOn(proxy.urlThrough(testDatabaseUrl()), SESSION_MIGRATIONS)],
      providers: [{ provide: APP_GUARD, useClass: SessionGuard }],
      options: { csrf: { enabled: true } },
      // TypeORM has connected and migrated; the database goes away before the start-up check.
      afterCompile: () => proxy.refuse(),
    });
    try {
      const warnings = logs.warnings();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(
        /^The database of TypeORM data source "default" could not be reached at start-up \(.+\)/,
      );
      expect(warnings[0]).toContain('503 session_store_unavailable');
      expect(logs.errors()).toEqual([]);
      expect((await request(url).get('/csrf')).status).toBe(503);
      await proxy.forward();
      // The key could not be read while the database was away: tokens are stored sessions until
      // a request a minute after that attempt loads it, then pre-sessions again.
      expect(await tokenCookie(url)).toMatch(STORED_SESSION);
      clock.set(new Date(T0.getTime() + 60_001));
      expect(await tokenCookieOnceKeyLoads(url)).toMatch(PRE_SESSION);
    } finally {
      await app.close();
    }
  });

  it('a database that accepts connections and never answers holds the start 5 s at most', async () => {
    const started = Date.now();
    const { app, logs, url } = await start({
      typeOrm: [typeOrmOn(proxy.urlThrough(testDatabaseUrl()), SESSION_MIGRATIONS)],
      providers: [{ provide: APP_GUARD, useClass: SessionGuard }],
      afterCompile: async (moduleRef) => {
        await proxy.blackhole();
        await idleConnectionsGone(moduleRef.get(DataSource));
      },
    });
    try {
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(logs.warnings()).toEqual([
        expect.stringContaining('could not be reached at start-up (no answer within 5 s)'),
      ]);
      await proxy.forward();
      expect(await tokenCookie(url)).toMatch(STORED_SESSION);
    } finally {
      // The connection the check opened is still held: cut it, or closing the pool waits for it.
      await proxy.refuse();
      await app.close();
    }
  });
});

describe.each(ADAPTERS)('R15 the server key cannot be read at start-up (%s)', (adapter) => {
  afterEach(() => jest.restoreAllMocks());

  it('one warning; tokens fall back to stored sessions, and pre-sessions come back a minute later', async () => {
    jest
      .spyOn(PostgresSessionRepository.prototype, 'serverKey')
      .mockRejectedValueOnce(new SessionStoreError('the database went away', { cause: null }));
    const clock = new ManualClock(T0);
    const { app, logs, url } = await start({
      adapter,
      clock,
      options: { csrf: { enabled: true } },
      providers: [{ provide: APP_GUARD, useClass: SessionGuard }],
    });
    try {
      expect(logs.warnings()).toEqual([
        expect.stringMatching(
          /^The server key could not be read .* at start-up: until it can, each anonymous visitor/,
        ),
      ]);
      expect(await tokenCookie(url)).toMatch(STORED_SESSION);
      clock.set(new Date(T0.getTime() + 60_001));
      expect(await tokenCookieOnceKeyLoads(url)).toMatch(PRE_SESSION);
    } finally {
      await app.close();
    }
  });
});

describe('issue 13 §2 no TypeORM data source: the package says what to import where', () => {
  const compile = (imports: DynamicModule[]) =>
    Test.createTestingModule({ imports })
      .compile()
      .then(
        () => {
          throw new Error('expected the module not to compile');
        },
        (error: Error) => error,
      );

  it('without TypeOrmModule.forRoot', async () => {
    const error = await compile([SessionModule.forRoot({})]);
    expect(error).toBeInstanceOf(SessionSetupError);
    expect(error.message).toMatch(/^SessionModule found no TypeORM data source/);
    expect(error.message).toContain('Import TypeOrmModule.forRoot({ type: "postgres"');
    expect(error.message).toContain('in your root module, next to SessionModule');
    expect(error.message).not.toMatch(/can't resolve dependencies/);
  });

  it('without TypeOrmModule.forRoot, with forRootAsync', async () => {
    const error = await compile([SessionModule.forRootAsync({ useFactory: () => ({}) })]);
    expect(error).toBeInstanceOf(SessionSetupError);
    expect(error.message).toMatch(/^SessionModule found no TypeORM data source/);
  });

  it('a dataSource name that no TypeORM module registers', async () => {
    const error = await compile([
      { module: StandInDataSourceModule },
      SessionModule.forRootAsync({ dataSource: 'sessions', useFactory: () => ({}) }),
    ]);
    expect(error).toBeInstanceOf(SessionSetupError);
    expect(error.message).toMatch(/^SessionModule found no TypeORM data source named "sessions"/);
    expect(error.message).toContain('TypeOrmModule.forRoot({ name: "sessions", type: "postgres"');
  });
});

describe('issue 13 §2 several option mistakes in a factory: all of them in one error', () => {
  it('unknown keys with "did you mean", misplaced extras, refused values and rules, together', async () => {
    const error = await Test.createTestingModule({
      imports: [
        { module: StandInDataSourceModule },
        SessionModule.forRootAsync({
          useFactory: () =>
            ({
              isGlobal: true,
              dataSource: 'sessions',
              idleTimout: '5m',
              absoluteTimeout: 'half a day',
              obsoleteGracePeriod: '10s',
              obsoleteInFlightLeeway: '20s',
              cookie: { samesite: 'strict' },
            }) as SessionModuleOptions,
        }),
      ],
    })
      .compile()
      .then(
        () => undefined,
        (rejection: Error) => rejection,
      );
    expect(error).toBeInstanceOf(SessionOptionsError);
    const lines = (error as Error).message.split('\n');
    expect(lines[0]).toBe('Invalid SessionModule options:');
    expect(lines.slice(1)).toEqual([
      ' - isGlobal: isGlobal is not an option the factory can return; give it to forRootAsync itself, beside useFactory (or useClass, useExisting): SessionModule.forRootAsync({ isGlobal: ..., useFactory: ... })',
      ' - dataSource: dataSource is not an option the factory can return; give it to forRootAsync itself, beside useFactory (or useClass, useExisting): SessionModule.forRootAsync({ dataSource: ..., useFactory: ... })',
      ' - idleTimout: idleTimout is not a known option; did you mean idleTimeout?',
      ' - cookie.samesite: cookie.samesite is not a known option; did you mean cookie.sameSite?',
      expect.stringMatching(/^ - absoluteTimeout: absoluteTimeout must be a positive duration/),
      ' - obsoleteInFlightLeeway: must not be longer than obsoleteGracePeriod (an ID past its grace period is never served)',
    ]);
  });
});

/** A subclass, as an application that extends the guard registers it. */
@Injectable()
class AppSessionGuard extends SessionGuard {}

@Controller('open')
class OpenController {
  @Get()
  read() {
    return { served: true };
  }
}

@Controller('guarded-class')
@UseGuards(SessionGuard)
class GuardedClassController {
  @Get()
  read() {
    return {};
  }
}

@Controller('guarded-handler')
class GuardedHandlerController {
  @Get()
  @UseGuards(AppSessionGuard)
  read() {
    return {};
  }
}

describe.each(ADAPTERS)(
  'issue 13 §2 no SessionGuard registered: one start-up warning (%s)',
  (adapter) => {
    it('no guard anywhere: one warning saying how to register it, while the route is served to anyone', async () => {
      const { app, logs, url } = await start({ adapter, controllers: [OpenController] });
      try {
        expect(logs.warnings()).toEqual([
          expect.stringMatching(
            /^No SessionGuard is registered: routes are served without a session/,
          ),
        ]);
        expect(logs.warnings()[0]).toContain('{ provide: APP_GUARD, useClass: SessionGuard }');
        expect(logs.warnings()[0]).toContain('@UseGuards(SessionGuard)');
        expect(logs.warnings()[0]).toContain('guardCheck: false');
        expect((await request(url).get('/open')).status).toBe(200);
      } finally {
        await app.close();
      }
    });

    const registered: [string, Setup][] = [
      ['APP_GUARD', { providers: [{ provide: APP_GUARD, useClass: SessionGuard }] }],
      [
        'APP_GUARD with a subclass',
        { providers: [{ provide: APP_GUARD, useClass: AppSessionGuard }] },
      ],
      ['app.useGlobalGuards', { beforeInit: (app) => app.useGlobalGuards(app.get(SessionGuard)) }],
      ['@UseGuards on a controller', { controllers: [OpenController, GuardedClassController] }],
      [
        '@UseGuards of a subclass on one handler',
        { controllers: [OpenController, GuardedHandlerController], providers: [AppSessionGuard] },
      ],
      ['no guard, with guardCheck: false', { options: { guardCheck: false } }],
    ];

    it.each(registered)('%s: no warning', async (_, setup) => {
      expect(await startupWarnings({ adapter, controllers: [OpenController], ...setup })).toEqual(
        [],
      );
    });
  },
);

describe.each(ADAPTERS)(
  'issue 13 §2 a Secure cookie on plain http to a host other than localhost (%s)',
  (adapter) => {
    const withGuard = { providers: [{ provide: APP_GUARD, useClass: SessionGuard }] };
    const login = (url: string, headers: Record<string, string>) =>
      request(url).post('/login').set(headers).send({ userId: 'u1' });

    it('one warning with the cause and the fixes, once for the module however many requests', async () => {
      const { app, logs, url } = await start({ adapter, ...withGuard });
      try {
        expect(logs.warnings()).toEqual([]);
        const first = await login(url, { Host: 'app.example.com' });
        expect(first.headers['set-cookie']?.[0]).toMatch(/^__Host-sid=.*; Secure/);
        await login(url, { Host: 'shop.example.com:8080' });
        const warnings = logs.warnings();
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toContain(
          'A Secure cookie ("__Host-sid") was set in answer to a plain-http request for host "app.example.com"',
        );
        expect(warnings[0]).toContain('403 csrf_token_invalid');
        expect(warnings[0]).toContain('Serve the application over HTTPS');
        expect(warnings[0]).toContain('X-Forwarded-Proto counts');
        expect(warnings[0]).toContain('cookie: { secure: false }');
      } finally {
        await app.close();
      }
    });

    it('an untrusted proxy that says https is named as the cause', async () => {
      const { app, logs, url } = await start({ adapter, ...withGuard });
      try {
        await login(url, { Host: 'app.example.com', 'X-Forwarded-Proto': 'https' });
        expect(logs.warnings()).toEqual([
          expect.stringContaining(
            'proxy that says https (X-Forwarded-Proto), but the application does not trust',
          ),
        ]);
      } finally {
        await app.close();
      }
    });

    const silent: [string, Setup, Record<string, string>][] = [
      ['localhost', {}, { Host: 'localhost:3000' }],
      ['127.0.0.1', {}, { Host: '127.0.0.1:3000' }],
      ['[::1]', {}, { Host: '[::1]:3000' }],
      [
        'a trusted proxy that says https',
        { trustProxy: true },
        { Host: 'app.example.com', 'X-Forwarded-Proto': 'https' },
      ],
      [
        'cookie.secure false',
        { options: { cookie: { secure: false } } },
        { Host: 'app.example.com' },
      ],
    ];

    it.each(silent)('%s: no warning', async (_, setup, headers) => {
      const { app, logs, url } = await start({ adapter, ...withGuard, ...setup });
      try {
        const response = await login(url, headers);
        expect(response.status).toBe(200);
        expect(response.headers['set-cookie']).toBeDefined();
        expect(logs.warnings()).toEqual([]);
      } finally {
        await app.close();
      }
    });
  },
);
