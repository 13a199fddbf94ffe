import {
  SESSION_CHANGED_CHANNEL,
  SessionChangeListener,
  SessionChangeNotice,
} from '../lib/storage/session-change-listener';
import { SessionCache } from '../lib/storage/session-cache';
import { testDatabaseUrl } from './support/database-url';
import { Browser, idHash } from './support/http-client';
import { ANSWER_TIMEOUT_MS } from '../lib/storage/listen-timings';
import {
  as,
  cacheInUse,
  dataSeen,
  cacheOf,
  describeOnServer,
  listenToChanges,
  PROPAGATION_MS,
  signedInWithCopy,
} from './support/cache-instances';
import { TcpProxy } from './support/tcp-proxy';
import { ADAPTERS, Adapter, startApp, TestApp, useTestApp } from './support/test-app';
import { waitFor } from './support/wait-for';

/*
 * The session cache (issue 17) between instances: every instance hears of every change and
 * drops its copy; while its listening connection is down it answers nothing from the cache.
 * Two apps on one database stand for two instances behind a load balancer.
 */

/**
 * Plain SQL on the test's database that no cache hears of: through a query runner of its own,
 * not `dataSource.query` (which the test apps answer by emptying every cache).
 */
async function changeBehindTheCaches(t: TestApp, sql: string, parameters: unknown[]) {
  const runner = t.dataSource.createQueryRunner();
  try {
    await runner.query(sql, parameters);
  } finally {
    await runner.release();
  }
}

/**
 * `userId` signed in on a phone through `phoneUrl` and a laptop through `laptopUrl`; the phone's
 * session read once through `phoneUrl`, so that instance holds a copy of it.
 */
async function phoneAndLaptop(
  userId: string,
  phoneUrl: string,
  laptopUrl: string,
): Promise<{ phone: Browser; laptop: Browser }> {
  const phone = new Browser(phoneUrl);
  const laptop = new Browser(laptopUrl);
  expect((await phone.post('/login', { userId })).status).toBe(200);
  expect((await laptop.post('/login', { userId })).status).toBe(200);
  expect((await phone.get('/private')).status).toBe(200);
  return { phone, laptop };
}

/**
 * How long after `revoked` (the moment the revoking response arrived) `url` first refused the
 * session, polling as fast as requests go; fails if it is still served after `ms`.
 */
async function refusedWithin(browser: Browser, url: string, ms: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const status = (await as(browser, url).get('/private')).status;
    const elapsed = Date.now() - started;
    if (status === 401) return elapsed;
    expect(status).toBe(200);
    if (elapsed > ms) throw new Error(`still served ${elapsed} ms after the revocation`);
  }
}

/** The `changed` payloads of `t`'s cache's notices so far (spied from now on by `spyNotices`). */
function spyNotices(t: TestApp): () => string[] {
  const onNotice = jest.spyOn(cacheOf(t), 'onNotice');
  return () =>
    onNotice.mock.calls.flatMap(([notice]: [SessionChangeNotice, unknown]) =>
      notice.kind === 'changed' ? notice.idHashes : [],
    );
}

describeOnServer.each(ADAPTERS)('the session cache across instances (%s)', (adapter: Adapter) => {
  const a = useTestApp(adapter);
  let b: TestApp;

  beforeAll(async () => {
    b = await startApp(adapter);
  });
  afterAll(() => b.close());

  beforeEach(async () => {
    await cacheInUse(a);
    await cacheInUse(b);
  });

  it('a read that finds a copy sends no SQL; a write then sends one statement', async () => {
    const browser = new Browser(a.url);
    expect((await browser.post('/login', { userId: 'alice' })).status).toBe(200);
    expect((await browser.get('/private')).status).toBe(200);
    a.statements.reset();
    for (let i = 0; i < 5; i++) expect((await browser.get('/private')).status).toBe(200);
    expect(a.statements.count).toBe(0);
    expect((await browser.post('/private/data', { k: 'v' })).status).toBe(200);
    expect(a.statements.count).toBe(1);
    expect(a.statements.statements[0]).toMatch(/^UPDATE "session"/);
    // The write's own row went back into the cache: the next read sends nothing.
    expect((await browser.get('/private')).body.data).toEqual({ k: 'v' });
    expect(a.statements.count).toBe(1);
  });

  it('a write on a row changed since the copy (no notification) keeps no copy of it: the next read fetches the row', async () => {
    const browser = await signedInWithCopy(a, 'alice');
    // A change the cache hears nothing of (plain SQL, as another backend could make): the copy
    // on A is one version behind the row, and its handle is not the row's.
    await changeBehindTheCaches(
      a,
      `UPDATE "session" SET handle = 'changed-elsewhere', version = version + 1
       WHERE id_hash = decode($1, 'hex')`,
      [idHash(browser.token!)],
    );
    a.statements.reset();
    expect((await browser.post('/private/data', { k: 'v' })).status).toBe(200);
    a.statements.reset();
    const after = await browser.get('/private');
    expect(after.body).toMatchObject({ handle: 'changed-elsewhere', data: { k: 'v' } });
    expect(a.statements.count).toBe(1);
    expect(a.statements.statements[0]).toMatch(/^SELECT/);
    // Read from the row, kept: the next read sends nothing.
    expect((await browser.get('/private')).body.handle).toBe('changed-elsewhere');
    expect(a.statements.count).toBe(1);
  });

  it("a write keeps the CSRF secret in the instance's copy: the row's, kept or newly stored", async () => {
    const browser = await signedInWithCopy(a, 'alice');
    const hex = idHash(browser.token!);
    const storedSecret = async (): Promise<Buffer | null> =>
      (
        await a.dataSource.query(
          `SELECT csrf_secret FROM "session" WHERE id_hash = decode($1, 'hex')`,
          [hex],
        )
      )[0].csrf_secret;
    const copySecret = () => cacheOf(a).copyOf(Buffer.from(hex, 'hex'))?.csrfSecret;
    const signInSecret = await storedSecret();
    expect(signInSecret).toBeInstanceOf(Buffer);
    // A write that stores no secret: its statement does not return one, the copy keeps its own.
    a.statements.reset();
    expect((await browser.post('/private/data', { k: 'v' })).status).toBe(200);
    expect(a.statements.count).toBe(1);
    expect(copySecret()).toEqual(signInSecret);
    // A row without a secret (written by another backend), read into the cache.
    await changeBehindTheCaches(
      a,
      `UPDATE "session" SET csrf_secret = NULL, version = version + 1
       WHERE id_hash = decode($1, 'hex')`,
      [hex],
    );
    cacheOf(a).clear();
    expect((await browser.get('/private')).status).toBe(200);
    expect(copySecret()).toBeNull();
    // A CSRF token handed out for it stores a new secret: the copy holds what the row holds.
    a.statements.reset();
    expect((await browser.get('/csrf')).status).toBe(200);
    expect(a.statements.count).toBe(1);
    const newSecret = await storedSecret();
    expect(newSecret).toBeInstanceOf(Buffer);
    expect(newSecret).not.toEqual(signInSecret);
    expect(copySecret()).toEqual(newSecret);
    // And a later data write keeps that one.
    expect((await browser.post('/private/data', { k: 'w' })).status).toBe(200);
    expect(copySecret()).toEqual(newSecret);
    expect(await storedSecret()).toEqual(newSecret);
  });

  it('a sign-in on A is seen on B; a write on A is read on B', async () => {
    const browser = new Browser(a.url);
    expect((await browser.post('/login', { userId: 'alice' })).status).toBe(200);
    const onB = as(browser, b.url);
    expect((await onB.get('/private')).body.userIdParam).toBe('alice');
    expect((await onB.get('/private')).body.data).toEqual({});
    expect((await browser.post('/private/data', { k: 'v1' })).status).toBe(200);
    await dataSeen(onB, 'k', 'v1', PROPAGATION_MS * 20);
  });

  it('a revocation on B is refused on A once the notification arrives, and for good', async () => {
    const { phone, laptop } = await phoneAndLaptop('alice', a.url, b.url);
    a.statements.reset();
    expect((await phone.get('/private')).status).toBe(200);
    expect(a.statements.count).toBe(0);
    const handle = (await phone.get('/private')).body.handle as string;
    expect((await laptop.delete(`/sessions/${handle}`)).status).toBe(204);
    expect(await refusedWithin(phone, a.url, PROPAGATION_MS)).toBeLessThanOrEqual(PROPAGATION_MS);
    for (let i = 0; i < 5; i++) expect((await as(phone, a.url).get('/private')).status).toBe(401);
  });

  it('"sign out everywhere" on one instance is refused by all', async () => {
    const browsers = [new Browser(a.url), new Browser(b.url), new Browser(a.url)];
    for (const browser of browsers) {
      expect((await browser.post('/login', { userId: 'alice' })).status).toBe(200);
      expect((await as(browser, a.url).get('/private')).status).toBe(200);
      expect((await as(browser, b.url).get('/private')).status).toBe(200);
    }
    expect((await browsers[0].post('/logout-all')).status).toBe(200);
    for (const browser of browsers.slice(1)) {
      expect(await refusedWithin(browser, a.url, PROPAGATION_MS)).toBeLessThanOrEqual(
        PROPAGATION_MS,
      );
      expect(await refusedWithin(browser, b.url, PROPAGATION_MS)).toBeLessThanOrEqual(
        PROPAGATION_MS,
      );
    }
  });

  it("an instance announces its writes from its listening connection (none of the pool's), and does not act on its own announcements", async () => {
    const changes = await listenToChanges();
    try {
      const browser = await signedInWithCopy(a, 'erin');
      const onB = as(browser, b.url);
      expect((await onB.get('/private')).status).toBe(200);
      const noticedOnA = spyNotices(a);
      expect((await browser.post('/private/data', { k: 'v1' })).status).toBe(200);
      const hex = idHash(browser.token!);
      await waitFor('the announcement', () =>
        changes.heard.some((message) => message.payload?.startsWith(`${hex}:`)),
      );
      const announcement = changes.heard.find((message) => message.payload?.startsWith(`${hex}:`));
      expect(announcement!.processId).toBe(a.app.get(SessionChangeListener).backendPid);
      // Heard on B...
      await dataSeen(onB, 'k', 'v1');
      // ...and not acted on by A: a marker notified after it reaches A after it, and alone.
      const marker = `${'0'.repeat(64)}:1`;
      await b.dataSource.query(`SELECT pg_notify($1, $2)`, [SESSION_CHANGED_CHANNEL, marker]);
      await waitFor('the marker on A', () => noticedOnA().includes(marker));
      expect(noticedOnA().filter((payload) => payload.startsWith(hex))).toEqual([]);
      // A's copy is the write's: read without SQL.
      a.statements.reset();
      expect((await browser.get('/private')).body.data).toEqual({ k: 'v1' });
      expect(a.statements.count).toBe(0);
    } finally {
      jest.restoreAllMocks();
      await changes.close();
    }
  });

  it('a revocation on the same instance is refused at once (its copy dropped before the answer)', async () => {
    const { phone, laptop } = await phoneAndLaptop('alice', a.url, a.url);
    expect((await laptop.post('/logout-all')).status).toBe(200);
    expect((await phone.get('/private')).status).toBe(401);
  });
});

describeOnServer('the session cache while its listening connection is down', () => {
  const proxy = TcpProxy.for(testDatabaseUrl());
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    await proxy.start();
    a = await startApp('express', {
      options: { listenConnection: proxy.urlThrough(testDatabaseUrl()) },
    });
    b = await startApp('express');
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await proxy.close();
  });

  it('answers nothing from the cache, accepts no revoked session meanwhile, and comes back after reconnection', async () => {
    await cacheInUse(a);
    const { phone, laptop } = await phoneAndLaptop('alice', a.url, b.url);
    a.statements.reset();
    expect((await phone.get('/private')).status).toBe(200);
    expect(a.statements.count).toBe(0);

    // The listening connection of A fails: nothing from B can reach A's cache now.
    const listener = a.app.get(SessionChangeListener);
    await proxy.refuse();
    await waitFor('the connection to be lost', () => !listener.listening);
    expect(cacheOf(a).usable).toBe(false);
    a.statements.reset();
    expect((await phone.get('/private')).status).toBe(200);
    expect(a.statements.count).toBeGreaterThan(0);

    // Revoked on B while A cannot hear it: A still refuses at once (it reads the store).
    expect((await laptop.post('/logout-all')).status).toBe(200);
    expect((await phone.get('/private')).status).toBe(401);

    // The connection comes back: the cache is used again.
    await proxy.forward();
    await cacheInUse(a);
    await signedInWithCopy(a, 'bob');
  });

  /** `userId` signed in on A; A and B each hold a copy of the session (read without SQL). */
  async function copiesOnBoth(userId: string) {
    await cacheInUse(a);
    await cacheInUse(b);
    const phone = await signedInWithCopy(a, userId);
    const onB = as(phone, b.url);
    expect((await onB.get('/private')).status).toBe(200);
    b.statements.reset();
    expect((await onB.get('/private')).status).toBe(200);
    expect(b.statements.count).toBe(0);
    return { phone, onB };
  }

  it("while it is down, the instance's writes still reach the others: announced through the pool", async () => {
    const { phone, onB } = await copiesOnBoth('frank');
    const listener = a.app.get(SessionChangeListener);
    await proxy.refuse();
    try {
      await waitFor('the connection to be lost', () => !listener.listening);
      expect((await phone.post('/private/data', { k: 'while-down' })).status).toBe(200);
      // B's clock stands still: its copy would never age out; only the announcement drops it.
      await dataSeen(onB, 'k', 'while-down');
    } finally {
      await proxy.forward();
    }
  });

  it('a listening connection that stalls: announcements wait for it at most the answer timeout, then go through the pool, and the connection is given up', async () => {
    const { phone, onB } = await copiesOnBoth('grace');
    const listener = a.app.get(SessionChangeListener);
    const stalledPid = listener.backendPid;
    proxy.stall();
    try {
      expect((await phone.post('/private/data', { k: 'stalled' })).status).toBe(200);
      await dataSeen(onB, 'k', 'stalled', ANSWER_TIMEOUT_MS + PROPAGATION_MS);
      // The unanswered announcement (or heartbeat) gave the connection up, and with it every
      // copy: the next read on A goes to the store.
      expect(listener.backendPid).not.toBe(stalledPid);
      a.statements.reset();
      expect((await phone.get('/private')).body.data).toEqual({ k: 'stalled' });
      expect(a.statements.count).toBeGreaterThan(0);
    } finally {
      await proxy.forward();
    }
  });

  it('with no notification arriving, changes made on the instance itself are seen at once', async () => {
    await cacheInUse(a);
    const { phone, laptop } = await phoneAndLaptop('dave', a.url, a.url);
    expect((await phone.post('/private/data', { k: 'v1' })).status).toBe(200);
    expect((await laptop.get('/private')).status).toBe(200);
    // Notifications stop arriving; the connection is not known to be lost yet (the heartbeat
    // gives it up after a few seconds).
    proxy.stall();
    try {
      expect(cacheOf(a).usable).toBe(true);
      expect((await phone.post('/private/data', { k: 'v2' })).status).toBe(200);
      expect((await phone.get('/private')).body.data).toEqual({ k: 'v2' });
      expect((await laptop.post('/logout-all')).status).toBe(200);
      expect((await phone.get('/private')).status).toBe(401);
    } finally {
      await proxy.forward();
    }
  });

  it('a connection that stalls without failing: a copy is used for maxAge at most', async () => {
    await cacheInUse(a);
    const { phone, laptop } = await phoneAndLaptop('carol', a.url, b.url);
    proxy.stall();
    try {
      expect((await laptop.post('/logout-all')).status).toBe(200);
      // Unheard, the copy may still answer until its age passes maxAge (5 s by default, on the
      // injected clock) or the heartbeat gives the connection up (a few seconds).
      a.clock.advance(5_001);
      expect(cacheOf(a).usable).toBe(true);
      expect((await phone.get('/private')).status).toBe(401);
    } finally {
      await proxy.forward();
    }
  });
});

describe('the session cache, off', () => {
  const t = useTestApp('express', { options: { cache: { enabled: false } } });

  it('every read goes to the database, and no listening connection is opened', async () => {
    expect(t.app.get(SessionCache, { strict: false })).toBeNull();
    const browser = new Browser(t.url);
    expect((await browser.post('/login', { userId: 'alice' })).status).toBe(200);
    t.statements.reset();
    expect((await browser.get('/private')).status).toBe(200);
    expect((await browser.get('/private')).status).toBe(200);
    expect(t.statements.count).toBe(2);
    expect(t.app.get(SessionChangeListener).listening).toBe(false);
    expect(idHash(browser.token!)).toHaveLength(64);
  });
});
