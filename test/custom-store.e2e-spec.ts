import { DynamicModule, Inject, Injectable, INestApplication } from '@nestjs/common';
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
  type SessionRecord,
} from 'nest-session-security';
import { DataSource } from 'typeorm';
import { describeRememberMeRepositoryContract } from './contract/remember-me-repository.contract';
import { describeSessionRepositoryContract } from './contract/session-repository.contract';
import { Browser, REMEMBER_COOKIE, sessionCookies } from './support/http-client';
import {
  copy,
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

/**
 * The in-memory store with its rows at hand: `findAtHand` answers at once with a copy of the
 * stored row, whatever its state; both ways of finding a session are counted.
 */
@Injectable()
class AtHandSessionRepository extends InMemorySessionRepository {
  readonly found = { atHand: 0, stored: 0 };

  /** Counts from zero again: what the next requests find. */
  countFromZero(): void {
    this.found.atHand = 0;
    this.found.stored = 0;
  }

  constructor(@Inject(MemoryStore) private readonly memory: MemoryStore) {
    super(memory);
  }

  override findAtHand(hexIdHash: string): SessionRecord | undefined {
    const row = this.memory.sessions.get(hexIdHash);
    if (row) this.found.atHand++;
    return row && copy(row);
  }

  override async findByHashes(idHashes: Buffer[]): Promise<SessionRecord[]> {
    this.found.stored++;
    return super.findByHashes(idHashes);
  }
}

describe.each(ADAPTERS)('a store that keeps sessions at hand: findAtHand (%s)', (adapter) => {
  let app: INestApplication;
  let url: string;
  let repository: AtHandSessionRepository;
  beforeAll(async () => {
    ({ app, url } = await startOn(adapter, [
      SessionModule.forRoot({
        csrf: { enabled: false },
        idleTimeout: '30m',
        repositories: { ...inMemory, session: AtHandSessionRepository },
      }),
    ]));
    repository = app.get(SessionRepository, { strict: false });
  });
  afterAll(() => app?.close());
  beforeEach(() => app.get<Clock, ManualClock>(Clock, { strict: false }).set(T0));

  /** Signs `userId` in on a new browser; the counters start from zero after it. */
  async function signedIn(userId: string): Promise<Browser> {
    const browser = new Browser(url);
    expect((await browser.post('/login', { userId })).status).toBe(200);
    repository.countFromZero();
    return browser;
  }

  it('a live session at hand is admitted without asking the store', async () => {
    const browser = await signedIn('alice');
    const me = await browser.get('/private');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ userIdParam: 'alice' });
    expect(repository.found).toEqual({ atHand: 1, stored: 0 });
  });

  it('a revoked session at hand is refused: the copy obeys the rules the store would', async () => {
    const phone = await signedIn('bob');
    const laptop = new Browser(url);
    await laptop.post('/login', { userId: 'bob' });
    expect((await laptop.post('/logout-all')).status).toBe(200);
    repository.countFromZero();
    const refused = await phone.get('/private');
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ code: 'session_revoked' });
    expect(repository.found).toEqual({ atHand: 1, stored: 0 });
  });

  it('a session at hand past its idle deadline is refused and deleted', async () => {
    const browser = await signedIn('carol');
    const token = browser.token!;
    app.get<Clock, ManualClock>(Clock, { strict: false }).set(new Date(T0.getTime() + 31 * 60_000));
    const refused = await browser.get('/private');
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ code: 'session_idle_expired' });
    const store = app.get(MemoryStore, { strict: false });
    expect(store.sessions.has(hashToken(token).toString('hex'))).toBe(false);
  });
});

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
