import { Client } from 'pg';
import request from 'supertest';
import { hashToken, PostgresSessionRepository, SessionModule } from 'nest-session-security';
import type { StatementResult } from '../lib/storage/run-statement';
import { Browser, rowFor } from './support/http-client';
import { testDatabaseUrl, usesEmbeddedPostgres } from './support/database-url';
import {
  ADAPTERS,
  postgresSubclasses,
  storageOptions,
  TestApp,
  useTestApp,
} from './support/test-app';

/*
 * Group commit (issue 17): the writes of requests that reach the store in one turn of the event
 * loop go out as one UPDATE of many rows, each request answered once that statement committed.
 * The tests release many handlers at once from the test gate, so their writes meet in one turn
 * every time, and record every write statement the repository sends.
 */

/** What the batched UPDATE sends, and no other statement: its arrays of rows. */
const BATCHED =
  /FROM unnest\(\$1::bytea\[\], \$2::timestamptz\[\], \$3::timestamptz\[\], \$4::boolean\[\]/;
/** A request's UPDATE of one row. */
const ALONE = /^\s*UPDATE "session" SET version = version \+ 1/;

/** The embedded PostgreSQL serves every connection from one backend: no row lock can wait there. */
const gated = usesEmbeddedPostgres() ? it.skip : it;

/** Records the write statements (rows per statement) and can hold the next batch. */
class WriteLog {
  /** Rows of each write statement, in the order they were sent: 1 for a write alone. */
  sizes: number[] = [];
  private hold: { reached: (rows: Buffer[]) => void; release: Promise<void> } | null = null;

  reset(): void {
    this.sizes = [];
  }

  /**
   * The next batched statement waits, before it is sent, until `release` settles; resolves with
   * its rows' id hashes, in the statement's order, once it is held.
   */
  holdNextBatch(release: Promise<void>): Promise<Buffer[]> {
    return new Promise((reached) => (this.hold = { reached, release }));
  }

  async sending(sql: string, params: unknown[]): Promise<void> {
    if (BATCHED.test(sql)) {
      this.sizes.push((params[0] as unknown[]).length);
      const hold = this.hold;
      this.hold = null;
      if (hold) {
        hold.reached(params[0] as Buffer[]);
        await hold.release;
      }
    } else if (ALONE.test(sql)) this.sizes.push(1);
  }
}

const log = new WriteLog();

class LoggedRepository extends PostgresSessionRepository {
  protected override async run<T>(sql: string, params: unknown[]): Promise<StatementResult<T>> {
    await log.sending(sql, params);
    return super.run<T>(sql, params);
  }
}

describe.each(ADAPTERS)('batched writes (%s)', (adapter) => {
  const t = useTestApp(adapter, {
    sessionModule: SessionModule.forRoot({
      ...storageOptions(),
      csrf: { enabled: false },
      repositories: postgresSubclasses({ session: LoggedRepository }),
    }),
  });

  beforeEach(() => log.reset());

  /** Signed-in browsers, one per user in `users`, then each having read its session once. */
  async function signedIn(users: string[]): Promise<Browser[]> {
    const browsers: Browser[] = [];
    for (const userId of users) {
      const browser = new Browser(t.url);
      expect((await browser.post('/login', { userId })).status).toBe(200);
      browsers.push(browser);
    }
    for (const browser of browsers) expect((await browser.get('/private')).status).toBe(200);
    return browsers;
  }

  /** Each browser posts `key(i)`: its handler waits at the gate; all released at once. */
  async function releasedTogether(
    browsers: Browser[],
    key: (index: number) => string,
  ): Promise<request.Response[]> {
    const answers = browsers.map((browser, index) =>
      browser.post('/private/data?gate=1', { [key(index)]: index }),
    );
    await t.gate.arrived(browsers.length);
    log.reset();
    t.gate.open();
    return Promise.all(answers);
  }

  async function dataOf(browser: Browser): Promise<Record<string, unknown> | undefined> {
    return (await rowFor(t.dataSource, browser.token!))?.data;
  }

  it('writes of many sessions released at once go in one statement; each is stored before its answer', async () => {
    const browsers = await signedIn(['u0', 'u1', 'u2', 'u3', 'u4', 'u5']);
    const answers = await releasedTogether(browsers, (index) => `k${index}`);
    expect(answers.map((answer) => answer.status)).toEqual(Array(6).fill(200));
    expect(log.sizes).toEqual([6]);
    for (const [index, browser] of browsers.entries()) {
      expect(await dataOf(browser)).toEqual({ [`k${index}`]: index });
    }
  });

  it('two tabs of one session released at once go in two statements, both kept', async () => {
    const [browser, other] = await signedIn(['u0', 'u1']);
    const tab = new Browser(t.url);
    tab.token = browser.token;
    const answers = await releasedTogether([browser, tab, other], (index) => `tab${index}`);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    // Never two writes of a row in one statement: the second goes in another, at the same time.
    expect(log.sizes).toEqual([2, 1]);
    expect(await dataOf(browser)).toEqual({ tab0: 0, tab1: 1 });
    expect(await dataOf(other)).toEqual({ tab2: 2 });
  });

  it("one user's sessions released at once go in one statement, all of them stored", async () => {
    const browsers = await signedIn(['alice', 'alice', 'bob', 'carol']);
    const answers = await releasedTogether(browsers, (index) => `k${index}`);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    expect(log.sizes).toEqual([4]);
    for (const [index, browser] of browsers.entries()) {
      expect(await dataOf(browser)).toEqual({ [`k${index}`]: index });
    }
  });

  it("a session revoked before its batch is sent: its write is refused and nothing of it stored, the others' stored", async () => {
    const [alice, bob, aliceLaptop] = await signedIn(['alice', 'bob', 'alice']);
    const aliceToken = alice.token!;
    let release!: () => void;
    const held = log.holdNextBatch(new Promise((resolve) => (release = resolve)));
    const answers = releasedTogether([alice, bob], (index) => `k${index}`);
    expect(await held).toHaveLength(2);
    // Sign out everywhere from another device while the batch waits to be sent.
    expect((await aliceLaptop.post('/logout-all')).status).toBe(200);
    release();
    const [refused, stored] = await answers;
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('session_ended');
    expect(stored.status).toBe(200);
    expect(await dataOf(bob)).toEqual({ k1: 1 });
    // The refusal cleared the cookie; the token it held is refused too, its row revoked and empty.
    expect(alice.token).toBeNull();
    const row = await rowFor(t.dataSource, aliceToken);
    expect(row?.revoked_at).not.toBeNull();
    expect(row?.data).toEqual({});
    const stolen = new Browser(t.url);
    stolen.token = aliceToken;
    expect((await stolen.get('/private')).status).toBe(401);
  });

  gated(
    'a batch that PostgreSQL aborts to break a deadlock runs again: every write stored, no 503',
    async () => {
      const browsers = await signedIn(['u0', 'u1']);
      const holder = new Client({ connectionString: testDatabaseUrl() });
      await holder.connect();
      try {
        const deadlocks = await deadlockCount(t);
        let release!: () => void;
        const held = log.holdNextBatch(new Promise((resolve) => (release = resolve)));
        const answers = releasedTogether(browsers, (index) => `k${index}`);
        // The batch locks its rows in the order of their id_hash: the holder takes the last one.
        const [firstRow, lastRow] = [...(await held)].sort(Buffer.compare);
        await holder.query('BEGIN');
        // Only the batch's backend looks for the cycle (after the server's 1 s): PostgreSQL
        // aborts the batch, not the holder.
        await holder.query(`SET LOCAL deadlock_timeout = '60s'`);
        await holder.query(`SELECT 1 FROM "session" WHERE id_hash = $1 FOR UPDATE`, [lastRow]);
        release();
        await until(async () => (await lockWaiters(t)).length === 1);
        // The holder now wants the row the batch locked: a cycle.
        await holder.query(
          `UPDATE "session" SET data = data || '{"holder":true}' WHERE id_hash = $1`,
          [firstRow],
        );
        await holder.query('COMMIT');
        expect((await answers).map((answer) => answer.status)).toEqual([200, 200]);
        await until(async () => (await deadlockCount(t)) > deadlocks, 20_000);
        for (const [index, browser] of browsers.entries()) {
          const holderToo = hashToken(browser.token!).equals(firstRow) ? { holder: true } : {};
          expect(await dataOf(browser)).toEqual({ ...holderToo, [`k${index}`]: index });
        }
      } finally {
        await holder.end();
      }
    },
    30_000,
  );

  it('many tabs of many sessions writing in rounds: every acknowledged write is stored', async () => {
    const browsers = await signedIn(['a', 'a', 'b', 'b', 'c', 'd']);
    const tabs = browsers.flatMap((browser) => {
      const tab = new Browser(t.url);
      tab.token = browser.token;
      return [browser, tab];
    });
    const ROUNDS = 8;
    for (let round = 0; round < ROUNDS; round++) {
      const answers = await Promise.all(
        tabs.map((tab, index) => tab.post('/private/data', { [`r${round}t${index}`]: round })),
      );
      expect(answers.map((answer) => answer.status)).toEqual(Array(tabs.length).fill(200));
    }
    for (const [index, browser] of browsers.entries()) {
      const expected: Record<string, number> = {};
      for (let round = 0; round < ROUNDS; round++) {
        expected[`r${round}t${2 * index}`] = round;
        expected[`r${round}t${2 * index + 1}`] = round;
      }
      expect(await dataOf(browser)).toEqual(expected);
    }
  });
});

async function deadlockCount(t: TestApp): Promise<number> {
  // A backend reports its statistics a moment after its transaction ended: callers poll.
  const rows: { deadlocks: string }[] = await t.dataSource.query(
    `SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`,
  );
  return Number(rows[0].deadlocks);
}

async function lockWaiters(t: TestApp): Promise<unknown[]> {
  return t.dataSource.query(
    `SELECT pid FROM pg_stat_activity
     WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
  );
}

async function until(condition: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe.each(ADAPTERS)('batchWrites: false (%s)', (adapter) => {
  const t = useTestApp(adapter, { options: { batchWrites: false } });

  it('writes released at once go in one statement each, all stored', async () => {
    const browsers: Browser[] = [];
    for (const userId of ['u0', 'u1', 'u2']) {
      const browser = new Browser(t.url);
      expect((await browser.post('/login', { userId })).status).toBe(200);
      browsers.push(browser);
    }
    const answers = browsers.map((browser, index) =>
      browser.post('/private/data?gate=1', { [`k${index}`]: index }),
    );
    await t.gate.arrived(browsers.length);
    t.statements.reset();
    t.gate.open();
    expect((await Promise.all(answers)).map((answer) => answer.status)).toEqual([200, 200, 200]);
    const writes = t.statements.statements.filter((sql) => /^UPDATE "session" SET/.test(sql));
    expect(writes).toHaveLength(3);
    expect(t.statements.statements.filter((sql) => BATCHED.test(sql))).toEqual([]);
    for (const [index, browser] of browsers.entries()) {
      expect((await rowFor(t.dataSource, browser.token!))?.data).toEqual({ [`k${index}`]: index });
    }
  });
});
