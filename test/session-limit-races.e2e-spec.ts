import {
  hashToken,
  PostgresSessionRepository,
  SessionModule,
  SessionRecord,
} from 'nest-session-security';
import { Browser, liveSessions, rowFor } from './support/http-client';
import { usesEmbeddedPostgres } from './support/database-url';
import {
  ADAPTERS,
  clockAt,
  postgresSubclasses,
  storageOptions,
  T0,
  useTestApp,
} from './support/test-app';

/*
 * Races of sign-ins under `maxSessionsPerUser`, each found by the model-based test (issue 16).
 *
 * Two sign-ins switch users in opposite directions at the same time, under
 * `maxSessionsPerUser`: alice's browser, signed in as bob, signs in as
 * mallory while mallory's browser signs in as bob. Each runs the session limit's transaction
 * for its new user: it evicts that user's least recently used sessions, then regenerates its
 * own session, a row of the other user. The eviction used to lock the sessions it kept too
 * (FOR UPDATE with OFFSET locks the rows it skips), so each held the session the other
 * regenerates: PostgreSQL broke the deadlock by aborting one, answered 503.
 *
 * Now the eviction locks only what it evicts; and when each evicts the very session the other
 * regenerates (a real conflict), the transaction PostgreSQL aborts runs again and signs in.
 *
 * The barrier holds each sign-in after its eviction until both have evicted, so the lock
 * waits cross every time.
 */

const MINUTE = 60_000;
const LIMIT = 3;

/** Holds each eviction, once done inside its transaction, until `count` evictions are done. */
class Barrier {
  private waiting: (() => void)[] = [];
  count = 0;

  pass(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      if (this.waiting.length < this.count) return;
      this.count = 0;
      this.waiting.splice(0).forEach((release) => release());
    });
  }
}

const barrier = new Barrier();

class BarrierSessionRepository extends PostgresSessionRepository {
  override async revokeLeastRecentlyUsed(
    ...args: Parameters<PostgresSessionRepository['revokeLeastRecentlyUsed']>
  ): Promise<SessionRecord[]> {
    const evicted = await super.revokeLeastRecentlyUsed(...args);
    await barrier.pass();
    return evicted;
  }
}

// The embedded PostgreSQL serves one statement at a time: no lock can wait there.
const onServer = usesEmbeddedPostgres() ? describe.skip : describe;

onServer.each(ADAPTERS)('R13 R16 sign-ins racing under maxSessionsPerUser (%s)', (adapter) => {
  const t = useTestApp(adapter, {
    sessionModule: SessionModule.forRoot({
      ...storageOptions(),
      csrf: { enabled: false },
      maxSessionsPerUser: LIMIT,
      sessionLimitPolicy: 'evict-least-recently-used',
      repositories: postgresSubclasses({ session: BarrierSessionRepository }),
    }),
  });

  let minute = 0;
  /** Signs `userId` in from a new browser, a minute after the previous sign-in. */
  async function signIn(userId: string): Promise<Browser> {
    clockAt(t, ++minute * MINUTE);
    const browser = new Browser(t.url);
    expect((await browser.post('/login', { userId })).status).toBe(200);
    return browser;
  }

  beforeEach(() => {
    minute = 0;
    barrier.count = 0;
  });

  async function switchBoth(alice: Browser, mallory: Browser): Promise<void> {
    clockAt(t, ++minute * MINUTE);
    barrier.count = 2;
    const answers = await Promise.all([
      alice.post('/login', { userId: 'mallory' }),
      mallory.post('/login', { userId: 'bob' }),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    expect((await alice.get('/private')).body.userIdParam).toBe('mallory');
    expect((await mallory.get('/private')).body.userIdParam).toBe('bob');
    expect((await liveSessions(t.dataSource, 'bob')).length).toBeLessThanOrEqual(LIMIT);
    expect((await liveSessions(t.dataSource, 'mallory')).length).toBeLessThanOrEqual(LIMIT);
  }

  it('both succeed when neither evicts the other one (their sessions are the most recent)', async () => {
    const alice = await signIn('bob');
    const mallory = await signIn('mallory');
    await switchBoth(alice, mallory);
  });

  it('both succeed when each evicts the very session the other regenerates (deadlock broken, restarted)', async () => {
    // Each browser's session is its user's least recently used: each sign-in evicts the other's.
    const alice = await signIn('bob');
    const mallory = await signIn('mallory');
    for (let i = 0; i < LIMIT - 1; i++) {
      await signIn('bob');
      await signIn('mallory');
    }
    await switchBoth(alice, mallory);
    expect(await liveSessions(t.dataSource, 'bob')).toHaveLength(LIMIT);
    expect(await liveSessions(t.dataSource, 'mallory')).toHaveLength(LIMIT);
  });

  /** Resolves once some backend of this database waits for a row lock. */
  async function someoneWaitsForALock(): Promise<void> {
    for (let attempt = 0; attempt < 500; attempt++) {
      const [{ waiting }] = (await t.dataSource.query(
        `SELECT count(*)::int AS waiting FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      )) as { waiting: number }[];
      if (waiting > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error('the eviction never waited for the touched row');
  }

  /*
   * A sign-in ranks the user's sessions by `last_seen_at` without locking them, then locks the
   * ones to evict. A request of one of those that committed its touch in between had made it the
   * most recently used, and it was evicted all the same (with the data that request had just
   * written) while older sessions stayed. Now the eviction takes only rows still as old as it
   * ranked them, and ranks again. The concurrent request is the test's own transaction: it
   * touches the session and holds the row until the eviction waits for it, then commits.
   */
  it('R13 keeps the session a request used meanwhile and evicts the least recently used one', async () => {
    const oldest = await signIn('alice');
    const middle = await signIn('alice');
    const newest = await signIn('alice');
    const touch = t.dataSource.createQueryRunner();
    await touch.connect();
    try {
      await touch.startTransaction();
      await touch.query(`UPDATE "session" SET last_seen_at = $2 WHERE id_hash = $1`, [
        hashToken(oldest.token!),
        new Date(T0.getTime() + 10 * MINUTE),
      ]);
      clockAt(t, 10 * MINUTE);
      const login = new Browser(t.url).post('/login', { userId: 'alice' });
      await someoneWaitsForALock();
      await touch.commitTransaction();
      expect((await login).status).toBe(200);
    } finally {
      await touch.release();
    }
    expect((await rowFor(t.dataSource, oldest.token!))?.revoked_at).toBeNull();
    expect((await rowFor(t.dataSource, middle.token!))?.revoked_at).not.toBeNull();
    expect((await rowFor(t.dataSource, newest.token!))?.revoked_at).toBeNull();
    expect(await liveSessions(t.dataSource, 'alice')).toHaveLength(LIMIT);
  });
});
