import { Controller, Get, Global, Injectable, Module, UseGuards } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  CurrentSession,
  hashToken,
  SESSION_MIGRATIONS,
  Session,
  RememberMeTokenEntity,
  SessionEntity,
  SessionServerKeyEntity,
  SessionGuard,
  SessionModule,
  SessionModuleOptions,
  SessionOptionsError,
  SessionService,
} from 'nest-session-security';
import { DataSource } from 'typeorm';
import { testDatabaseUrl } from './support/database-url';
import { ADAPTERS, startApp, storageOptions, typeOrmRoot } from './support/test-app';
import { Browser, sessionCookies } from './support/http-client';

@Injectable()
class SessionSettings {
  readonly idleTimeout = '5m';
  create(): SessionModuleOptions {
    return { idleTimeout: this.idleTimeout, csrf: { enabled: false }, ...storageOptions() };
  }
}

@Module({ providers: [SessionSettings], exports: [SessionSettings] })
class SettingsModule {}

/** A controller guarded per controller, not globally. */
@Controller('guarded')
@UseGuards(SessionGuard)
class GuardedController {
  @Get()
  read(@CurrentSession() session: Session) {
    return { userId: session.userId };
  }
}

@Controller('unguarded')
class UnguardedController {
  @Get()
  read(@CurrentSession() session: Session) {
    return { userId: session.userId };
  }
}

/** A feature module that uses SessionService without importing SessionModule (isGlobal). */
@Injectable()
class FeatureService {
  constructor(readonly sessions: SessionService) {}
}
@Module({ providers: [FeatureService], exports: [FeatureService] })
class FeatureModule {}

/** Stands in for the data source where a test never reaches the database (start-up refusals). */
@Global()
@Module({ providers: [{ provide: DataSource, useValue: {} }], exports: [DataSource] })
class NoDatabaseModule {}

const MINUTE = 60_000;

describe.each(ADAPTERS)('module configuration (%s)', (adapter) => {
  const variants: [string, () => ReturnType<typeof SessionModule.forRootAsync>][] = [
    [
      'forRootAsync useFactory',
      () =>
        SessionModule.forRootAsync({
          imports: [SettingsModule],
          inject: [SessionSettings],
          useFactory: (settings: SessionSettings) => ({
            idleTimeout: settings.idleTimeout,
            csrf: { enabled: false },
            ...storageOptions(),
          }),
        }),
    ],
    ['forRootAsync useClass', () => SessionModule.forRootAsync({ useClass: SessionSettings })],
    [
      'forRootAsync useExisting',
      () => SessionModule.forRootAsync({ imports: [SettingsModule], useExisting: SessionSettings }),
    ],
  ];

  it.each(variants)('%s applies the options it produces', async (_, sessionModule) => {
    const t = await startApp(adapter, { sessionModule: sessionModule() });
    try {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      t.clock.advance(5 * MINUTE - 1000);
      expect((await browser.get('/private')).status).toBe(200);
      t.clock.advance(5 * MINUTE + 1000);
      const expired = await browser.get('/private');
      expect(expired.status).toBe(401);
      expect(expired.body.code).toBe('session_idle_expired');
    } finally {
      await t.close();
    }
  });

  it('isGlobal makes SessionService injectable in modules that do not import SessionModule', async () => {
    const t = await startApp(adapter, {
      sessionModule: SessionModule.forRoot({ isGlobal: true, ...storageOptions() }),
      imports: [{ module: FeatureModule }],
    });
    try {
      expect(t.app.get(FeatureService).sessions).toBeInstanceOf(SessionService);
    } finally {
      await t.close();
    }
  });

  it('a guard applied per controller protects that controller; routes without it have no session', async () => {
    const t = await startApp(adapter, {
      globalGuard: false,
      controllers: [GuardedController, UnguardedController],
    });
    try {
      const guarded = await request(t.url).get('/guarded');
      expect(guarded.status).toBe(401);
      expect(guarded.body.code).toBe('session_required');
      const unguarded = await request(t.url).get('/unguarded');
      expect(unguarded.status).toBe(500);
    } finally {
      await t.close();
    }
  });

  it("defaultAccess 'public' lets undecorated routes through anonymously", async () => {
    const t = await startApp(adapter, {
      options: { defaultAccess: 'public' },
      controllers: [GuardedController],
    });
    try {
      const response = await request(t.url).get('/guarded');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ userId: null });
    } finally {
      await t.close();
    }
  });

  it('cookie.secure false uses the plain name sid without Secure (local http development)', async () => {
    const t = await startApp(adapter, { options: { cookie: { secure: false } } });
    try {
      const response = await request(t.url).post('/public/data').send({ a: 1 });
      const [cookie] = sessionCookies(response, 'sid');
      expect(cookie.attributes.secure).toBeUndefined();
      expect(cookie.attributes.httponly).toBe(true);
    } finally {
      await t.close();
    }
  });

  it('preparedStatements false sends plain statements (for poolers that cannot keep prepared ones)', async () => {
    const t = await startApp(adapter, { options: { preparedStatements: false } });
    try {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      t.statements.reset();
      expect((await browser.post('/private/data', { a: 1 })).status).toBe(200);
      expect([t.statements.count, t.statements.prepared]).toEqual([2, 0]);
      expect((await browser.get('/private')).body.data).toEqual({ a: 1 });
    } finally {
      await t.close();
    }
  });

  it('a named TypeORM data source holds the sessions when named in dataSource', async () => {
    const t = await startApp(adapter, {
      imports: [typeOrmRoot('sessions')],
      sessionModule: SessionModule.forRoot({
        dataSource: 'sessions',
        csrf: { enabled: false },
        ...storageOptions(),
      }),
    });
    try {
      const browser = new Browser(t.url);
      expect((await browser.post('/login', { userId: 'named' })).status).toBe(200);
      expect((await browser.get('/private')).body.userId).toBe('named');
    } finally {
      await t.close();
    }
  });
});

describe('R6 bad options stop the application at start-up', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['negative timeout', { idleTimeout: -5 }, /idleTimeout.*duration/],
    ['zero idle timeout', { idleTimeout: 0 }, /idleTimeout.*positive/],
    ['unparsable duration', { absoluteTimeout: '12 hours' }, /absoluteTimeout.*"90s"/],
    [
      '__Host- cookie with a domain',
      { cookie: { domain: 'example.com' } },
      /cookie\.domain.*__Host-/,
    ],
    [
      '__Host- cookie without Secure',
      { cookie: { name: '__Host-x', secure: false } },
      /cookie\.name.*secure/,
    ],
    [
      'SameSite=None without Secure',
      { cookie: { name: 'sid', secure: false, sameSite: 'none' } },
      /cookie\.sameSite.*secure/,
    ],
    ['unknown key', { idleTimout: '5m' }, /idleTimout is not a known option/],
    ['unknown cookie key', { cookie: { maxAge: 1000 } }, /cookie\.maxAge is not a known option/],
    [
      'bad sameSite',
      { cookie: { sameSite: 'sometimes' } },
      /cookie\.sameSite must be one of "lax", "strict", "none"/,
    ],
    ['bad maxDataSize', { maxDataSize: 'big' }, /maxDataSize must be an integer/],
  ];

  it.each(cases)('%s', async (_, options, message) => {
    const compile = () =>
      Test.createTestingModule({
        imports: [NoDatabaseModule, SessionModule.forRoot(options as SessionModuleOptions)],
        providers: [{ provide: APP_GUARD, useClass: SessionGuard }],
      }).compile();
    await expect(compile()).rejects.toThrow(SessionOptionsError);
    await expect(compile()).rejects.toThrow(message);
  });
});

describe('storage schema', () => {
  let dataSource: DataSource;

  beforeAll(async () => {
    dataSource = new DataSource({
      type: 'postgres',
      url: testDatabaseUrl(),
      entities: [SessionEntity, RememberMeTokenEntity, SessionServerKeyEntity],
      migrations: SESSION_MIGRATIONS,
      migrationsRun: true,
    });
    await dataSource.initialize();
  });
  afterAll(() => dataSource.destroy());

  it('the shipped migrations and the entities describe the same tables', async () => {
    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((query) => query.query)).toEqual([]);
  });

  it('the table has the indexes the hot queries need', async () => {
    const indexes = await dataSource.query(
      `SELECT indexdef FROM pg_indexes WHERE tablename = 'session' ORDER BY indexname`,
    );
    const definitions = indexes.map((row: { indexdef: string }) => row.indexdef).join('\n');
    expect(definitions).toMatch(/UNIQUE INDEX session_pkey .*\(id_hash\)/);
    expect(definitions).toMatch(/INDEX session_user_id_idx .*\(user_id\)/);
    expect(definitions).toMatch(/INDEX session_expires_at_idx .*\(expires_at\)/);
  });
});

describe.each(ADAPTERS)('R20 behind a proxy (%s)', (adapter) => {
  const forwardedLogin = async (trustProxy: boolean) => {
    const t = await startApp(adapter, { trustProxy });
    try {
      const response = await request(t.url)
        .post('/login')
        .set('X-Forwarded-For', '203.0.113.9')
        .send({ userId: 'proxied' });
      const [row] = await t.dataSource.query(`SELECT ip FROM "session" WHERE id_hash = $1`, [
        hashToken(sessionCookies(response)[0].value),
      ]);
      return row.ip as string;
    } finally {
      await t.close();
    }
  };

  it("R20 with the platform's trust-proxy setting the client address comes from X-Forwarded-For", async () => {
    expect(await forwardedLogin(true)).toBe('203.0.113.9');
  });

  it('R20 without it the forwarded header is ignored', async () => {
    expect(await forwardedLogin(false)).toMatch(/127\.0\.0\.1/);
  });
});
