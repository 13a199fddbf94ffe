import { DynamicModule, INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import {
  Clock,
  hashToken,
  ManualClock,
  PostgresSessionRepository,
  RememberMeRepository,
  SessionGuard,
  SessionModule,
  SessionRepository,
  type SessionModuleOptions,
} from 'nest-session-security';
import { DataSource } from 'typeorm';
import { describeRememberMeRepositoryContract } from './contract/remember-me-repository.contract';
import { describeSessionRepositoryContract } from './contract/session-repository.contract';
import { Browser, REMEMBER_COOKIE, sessionCookies } from './support/http-client';
import {
  InMemoryRememberMeRepository,
  InMemorySessionRepository,
  MemoryStore,
  MemoryStoreModule,
} from './support/in-memory-repositories';
import { ADAPTERS, Adapter, storageOptions, T0, typeOrmRoot } from './support/test-app';
import { TestController, TestGate } from './support/test.controller';

/** A down copy of a store: the repositories on it must fail closed. */
function downStore(): MemoryStore {
  const store = new MemoryStore();
  store.down = true;
  return store;
}

describeSessionRepositoryContract('InMemorySessionRepository (test/support)', async () => ({
  repository: new InMemorySessionRepository(new MemoryStore()),
  unreachable: new InMemorySessionRepository(downStore()),
}));

describeRememberMeRepositoryContract('InMemoryRememberMeRepository (test/support)', async () => ({
  repository: new InMemoryRememberMeRepository(new MemoryStore()),
  unreachable: new InMemoryRememberMeRepository(downStore()),
}));

/**
 * Both repositories in memory, through the `repositories` extra: a class that injects the
 * application's own service (`MemoryStore`, from a module of the application) and a factory.
 */
const inMemory = {
  imports: [MemoryStoreModule],
  session: InMemorySessionRepository,
  rememberMe: {
    useFactory: (store: MemoryStore) => new InMemoryRememberMeRepository(store),
    inject: [MemoryStore],
  },
};

async function startOn(
  adapter: Adapter,
  imports: DynamicModule[],
): Promise<{ app: INestApplication; url: string }> {
  const moduleRef = await Test.createTestingModule({
    imports,
    controllers: [TestController],
    providers: [TestGate, { provide: APP_GUARD, useClass: SessionGuard }],
  })
    .overrideProvider(Clock)
    .useValue(new ManualClock(T0))
    .compile();
  const app =
    adapter === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false })
      : moduleRef.createNestApplication({ logger: false });
  await app.init();
  if (adapter === 'fastify') await app.getHttpAdapter().getInstance().ready();
  await app.listen(0, '127.0.0.1');
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}

describe.each(ADAPTERS)(
  'issue 14 another store bound through the repositories extra (%s)',
  (adapter) => {
    describe.each([
      [
        'forRoot',
        () => SessionModule.forRoot({ csrf: { enabled: false }, repositories: inMemory }),
      ],
      [
        'forRootAsync',
        () =>
          SessionModule.forRootAsync({
            repositories: inMemory,
            useFactory: () => ({ csrf: { enabled: false } }),
          }),
      ],
    ])('%s, both in memory and no TypeORM data source at all', (_, sessionModule) => {
      let app: INestApplication;
      let url: string;
      beforeAll(async () => ({ app, url } = await startOn(adapter, [sessionModule()])));
      afterAll(() => app?.close());

      it('the application starts, and a sign-in, a remembered device and a later request are served from it', async () => {
        expect(() => app.get(DataSource, { strict: false })).toThrow();
        const store = app.get(MemoryStore, { strict: false });
        expect(app.get(SessionRepository, { strict: false })).toBeInstanceOf(
          InMemorySessionRepository,
        );
        const browser = new Browser(url);
        const login = await browser.post('/login', { userId: 'alice', rememberMe: true });
        expect(login.status).toBe(200);
        expect(sessionCookies(login, REMEMBER_COOKIE)).toHaveLength(1);
        const stored = store.sessions.get(hashToken(browser.token!).toString('hex'));
        expect(stored).toMatchObject({ userId: 'alice', revokedAt: null });
        expect([...store.rememberMe.values()].map((token) => token.userId)).toEqual(['alice']);
        const me = await browser.get('/private');
        expect(me.status).toBe(200);
        expect(me.body).toMatchObject({ userIdParam: 'alice' });
      });

      it('a store that fails answers 503, closed', async () => {
        const store = app.get(MemoryStore, { strict: false });
        const browser = new Browser(url);
        await browser.post('/login', { userId: 'bob' });
        store.down = true;
        try {
          const me = await browser.get('/private');
          expect(me.status).toBe(503);
          expect(me.body).toMatchObject({ code: 'session_store_unavailable' });
        } finally {
          store.down = false;
        }
      });
    });
  },
);

/** The package's own repository with a counter: a subclass bound through the extra. */
class CountingSessionRepository extends PostgresSessionRepository {
  static inserts = 0;
  override async insert(...args: Parameters<PostgresSessionRepository['insert']>) {
    CountingSessionRepository.inserts++;
    return super.insert(...args);
  }
}

/** An app whose session repository is a {@link CountingSessionRepository}, bound by a factory. */
function startCounting(options: SessionModuleOptions = {}) {
  return startOn('express', [
    typeOrmRoot(),
    SessionModule.forRoot({
      csrf: { enabled: false },
      ...storageOptions(),
      ...options,
      repositories: {
        session: {
          useFactory: (dataSource: DataSource) =>
            new CountingSessionRepository(dataSource, storageOptions()),
          inject: [DataSource],
        },
      },
    }),
  ]);
}

describe('issue 14 a subclass of the PostgreSQL repository bound through a factory', () => {
  let app: INestApplication;
  let url: string;
  beforeAll(async () => {
    ({ app, url } = await startCounting());
  });
  afterAll(() => app?.close());

  it('sign-ins go through the bound repository; remember-me stays on PostgreSQL', async () => {
    expect(app.get(RememberMeRepository, { strict: false }).constructor.name).toBe(
      'PostgresRememberMeRepository',
    );
    const before = CountingSessionRepository.inserts;
    const browser = new Browser(url);
    expect((await browser.post('/login', { userId: 'carol' })).status).toBe(200);
    expect(CountingSessionRepository.inserts).toBe(before + 1);
    expect((await browser.get('/private')).body).toMatchObject({ userIdParam: 'carol' });
  });
});

describe('issue 14 a subclass of the PostgreSQL repository under a session limit', () => {
  let app: INestApplication;
  let url: string;
  beforeAll(async () => {
    ({ app, url } = await startCounting({ maxSessionsPerUser: 2 }));
  });
  afterAll(() => app?.close());

  it("a sign-in under the limit (one transaction per user) still goes through the subclass's methods", async () => {
    const before = CountingSessionRepository.inserts;
    const browser = new Browser(url);
    expect((await browser.post('/login', { userId: 'dave' })).status).toBe(200);
    expect(CountingSessionRepository.inserts).toBe(before + 1);
    expect((await browser.get('/private')).body).toMatchObject({ userIdParam: 'dave' });
  });
});
