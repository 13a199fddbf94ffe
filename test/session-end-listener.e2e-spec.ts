import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { createConnection, createServer, Server, Socket } from 'node:net';
import {
  SESSION_MIGRATIONS,
  SessionChangedNotification1764000000005,
  SessionEndedNotification1764000000004,
  SessionModule,
} from 'nest-session-security';
import { DataSource } from 'typeorm';
import {
  SESSION_ENDED_CHANNEL,
  SessionChangeListener,
  SessionChangeNotice,
} from '../lib/storage/session-change-listener';
import {
  createTestDatabase,
  dropTestDatabase,
  runDatabaseName,
  testDatabaseUrl,
  usesEmbeddedPostgres,
} from './support/database-url';
import { Browser, idHash } from './support/http-client';
import {
  InMemoryRememberMeRepository,
  InMemorySessionRepository,
  MemoryStore,
  MemoryStoreModule,
} from './support/in-memory-repositories';
import {
  ADAPTERS,
  Adapter,
  clockAt,
  startApp,
  storageOptions,
  TestApp,
  useTestApp,
} from './support/test-app';

/**
 * The listener as the sockets use it: without the session cache, which would subscribe from the
 * start (test/session-cache.e2e-spec.ts covers the listener with it).
 */
const WITHOUT_CACHE = { cache: { enabled: false } };

/** The listener needs connections of their own to a real server (PGlite serves one backend). */
const describeOnServer = usesEmbeddedPostgres() ? describe.skip : describe;

/** Long enough for a reconnection after the 3 s backoff cap, short enough to fail fast. */
const DEADLINE_MS = 8_000;

/** Polls `condition` every 10 ms until it holds; fails saying `what` after `ms`. */
async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  ms = DEADLINE_MS,
) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** What one subscriber of a listener heard. */
class Heard {
  readonly notices: SessionChangeNotice[] = [];
  readonly unsubscribe: () => void;

  constructor(readonly listener: SessionChangeListener) {
    this.unsubscribe = listener.subscribe((notice) => this.notices.push(notice));
  }

  /** Every hash of every `ended` notice, in order. */
  hashes(): string[] {
    return this.notices.flatMap((notice) => (notice.kind === 'ended' ? notice.idHashes : []));
  }

  resyncs(): number {
    return this.notices.filter((notice) => notice.kind === 'resync').length;
  }

  heard(hash: string): boolean {
    return this.hashes().includes(hash);
  }

  clear(): void {
    this.notices.length = 0;
  }
}

/** A hash no session has: notified by hand, it marks a point in the stream of notifications. */
function fenceHash(): string {
  return randomBytes(32).toString('hex');
}

/**
 * Resolves once every one of `heard` has received a notification sent now. PostgreSQL delivers
 * a listener's notifications in commit order, so whatever an earlier transaction sent has
 * arrived by then: what is not heard was never sent.
 */
async function fence(dataSource: DataSource, heard: Heard[]): Promise<string> {
  const hash = fenceHash();
  await dataSource.query(`SELECT pg_notify($1, $2)`, [SESSION_ENDED_CHANNEL, hash]);
  await waitFor('the fence notification', () => heard.every((one) => one.heard(hash)));
  return hash;
}

async function listeningAndResynced(heard: Heard): Promise<void> {
  await waitFor('LISTEN', () => heard.listener.listening && heard.resyncs() > 0);
}

/** Whether a backend process of that pid is connected to the server. */
async function backendConnected(dataSource: DataSource, pid: number): Promise<boolean> {
  const rows = await dataSource.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1`, [pid]);
  return rows.length > 0;
}

async function loggedIn(url: string, userId: string): Promise<Browser> {
  const browser = new Browser(url);
  expect((await browser.post('/login', { userId })).status).toBe(200);
  return browser;
}

function hashOf(browser: Browser): string {
  if (!browser.token) throw new Error('the browser holds no session');
  return idHash(browser.token);
}

describeOnServer.each(ADAPTERS)(
  'live sign-out signal: the sessions that end, heard on this instance and another (%s)',
  (adapter: Adapter) => {
    const t = useTestApp(adapter, { options: WITHOUT_CACHE });
    let other: TestApp;
    let here: Heard;
    let there: Heard;

    beforeAll(async () => {
      other = await startApp(adapter, { options: WITHOUT_CACHE });
      here = new Heard(t.app.get(SessionChangeListener));
      there = new Heard(other.app.get(SessionChangeListener));
      await listeningAndResynced(here);
      await listeningAndResynced(there);
    });
    afterAll(async () => {
      here.unsubscribe();
      there.unsubscribe();
      await other.close();
    });
    beforeEach(() => {
      here.clear();
      there.clear();
    });

    const heardOnBoth = (hash: string) =>
      waitFor(`both instances to hear ${hash}`, () => here.heard(hash) && there.heard(hash));

    it('logout (the live row deleted): its hash, in lower-case hexadecimal', async () => {
      const browser = await loggedIn(t.url, 'logout-user');
      const hash = hashOf(browser);
      expect((await browser.post('/logout')).status).toBe(204);
      await heardOnBoth(hash);
      expect(hash).toMatch(/^[0-9a-f]{64}$/);
      const rows = await t.dataSource.query(`SELECT 1 FROM "session" WHERE id_hash = $1`, [
        Buffer.from(hash, 'hex'),
      ]);
      expect(rows).toEqual([]);
    });

    it('revocation from the device list: the revoked session only', async () => {
      const laptop = await loggedIn(t.url, 'device-user');
      const phone = await loggedIn(t.url, 'device-user');
      const sessions = (await laptop.get('/sessions')).body as {
        handle: string;
        current: boolean;
      }[];
      const phoneHandle = sessions.find((session) => !session.current)?.handle;
      expect((await laptop.delete(`/sessions/${phoneHandle}`)).status).toBe(204);
      await heardOnBoth(hashOf(phone));
      await fence(t.dataSource, [here, there]);
      expect(here.heard(hashOf(laptop))).toBe(false);
      expect(there.heard(hashOf(laptop))).toBe(false);
      expect((await phone.get('/private')).status).toBe(401);
    });

    it('sign out everywhere: every session of the user, on both instances', async () => {
      const first = await loggedIn(t.url, 'everywhere-user');
      const second = await loggedIn(other.url, 'everywhere-user');
      const hashes = [hashOf(first), hashOf(second)];
      const response = await first.post('/logout-all');
      expect(response.status).toBe(200);
      await waitFor('both sessions on both instances', () =>
        hashes.every((hash) => here.heard(hash) && there.heard(hash)),
      );
    });

    it('regeneration (the old row made obsolete): the old hash, never its successor', async () => {
      const browser = await loggedIn(t.url, 'elevated-user');
      const before = hashOf(browser);
      expect((await browser.post('/elevate')).status).toBe(200);
      const after = hashOf(browser);
      expect(after).not.toBe(before);
      await heardOnBoth(before);
      await fence(t.dataSource, [here, there]);
      expect(here.heard(after)).toBe(false);
      expect(there.heard(after)).toBe(false);
    });

    it('sign-in from an anonymous session: the anonymous row', async () => {
      const browser = new Browser(t.url);
      expect((await browser.post('/public/data', { cart: 1 })).status).toBe(200);
      const anonymous = hashOf(browser);
      expect((await browser.post('/login', { userId: 'cart-user' })).status).toBe(200);
      await heardOnBoth(anonymous);
    });

    it('a touch and a data write: nothing', async () => {
      const browser = await loggedIn(t.url, 'busy-user');
      const hash = hashOf(browser);
      const lastSeen = async () =>
        (
          await t.dataSource.query(`SELECT last_seen_at FROM "session" WHERE id_hash = $1`, [
            Buffer.from(hash, 'hex'),
          ])
        )[0].last_seen_at.getTime();
      const signedIn = await lastSeen();
      clockAt(t, 2 * 60_000);
      expect((await browser.get('/private')).status).toBe(200);
      expect(await lastSeen()).toBeGreaterThan(signedIn);
      expect((await browser.post('/private/data', { theme: 'dark' })).status).toBe(200);
      expect((await browser.get('/private')).body.data).toEqual({ theme: 'dark' });
      expect(hashOf(browser)).toBe(hash);
      await fence(t.dataSource, [here, there]);
      expect(here.hashes()).not.toContain(hash);
      expect(there.hashes()).not.toContain(hash);
    });
  },
);

describeOnServer('live sign-out signal: the trigger, whatever changes the table', () => {
  const t = useTestApp('express', { options: WITHOUT_CACHE });
  let heard: Heard;

  beforeAll(async () => {
    heard = new Heard(t.app.get(SessionChangeListener));
    await listeningAndResynced(heard);
  });
  afterAll(() => heard.unsubscribe());
  beforeEach(() => heard.clear());

  /** Inserts a live row with a new hash by plain SQL; returns the hash. */
  async function liveRow(): Promise<string> {
    const hash = randomBytes(32);
    await t.dataSource.query(
      `INSERT INTO "session" (id_hash, handle, created_at, last_seen_at, rotated_at, expires_at)
       VALUES ($1, 'handle', now(), now(), now(), now() + interval '1 hour')`,
      [hash],
    );
    return hash.toString('hex');
  }

  const update = (set: string, hash: string) =>
    t.dataSource.query(`UPDATE "session" SET ${set} WHERE id_hash = $1`, [
      Buffer.from(hash, 'hex'),
    ]);

  it('plain SQL that ends sessions is heard: revoked_at set, obsoleted_at set, a live row deleted', async () => {
    const [revoked, obsoleted, deleted] = [await liveRow(), await liveRow(), await liveRow()];
    await update(`revoked_at = now()`, revoked);
    await update(`obsoleted_at = now()`, obsoleted);
    await t.dataSource.query(`DELETE FROM "session" WHERE id_hash = $1`, [
      Buffer.from(deleted, 'hex'),
    ]);
    await waitFor('the three rows', () =>
      [revoked, obsoleted, deleted].every((hash) => heard.heard(hash)),
    );
    const fenced = await fence(t.dataSource, [heard]);
    expect(heard.hashes().filter((hash) => hash !== fenced)).toEqual([revoked, obsoleted, deleted]);
  });

  it('plain SQL that ends no live session is not heard (an obsolete row revoked is)', async () => {
    const [live, revoked, obsolete, rolledBack] = [
      await liveRow(),
      await liveRow(),
      await liveRow(),
      await liveRow(),
    ];
    await update(`revoked_at = now()`, revoked);
    await update(`obsoleted_at = now()`, obsolete);
    await fence(t.dataSource, [heard]);
    heard.clear();
    // Other columns of a live row; revoked_at moved on a revoked row, then the row deleted; a
    // revocation rolled back. An obsolete row revoked is heard (a socket may still hold it within
    // the grace period), its deletion is not.
    await update(`last_seen_at = now(), data = '{"a":1}'::jsonb, version = version + 1`, live);
    await update(`revoked_at = now() + interval '1 second', expires_at = now()`, revoked);
    await t.dataSource.query(`DELETE FROM "session" WHERE id_hash = $1`, [
      Buffer.from(revoked, 'hex'),
    ]);
    const runner = t.dataSource.createQueryRunner();
    try {
      await runner.startTransaction();
      await runner.query(`UPDATE "session" SET revoked_at = now() WHERE id_hash = $1`, [
        Buffer.from(rolledBack, 'hex'),
      ]);
      await runner.rollbackTransaction();
    } finally {
      await runner.release();
    }
    await update(`revoked_at = now()`, obsolete);
    await t.dataSource.query(`DELETE FROM "session" WHERE id_hash = $1`, [
      Buffer.from(obsolete, 'hex'),
    ]);
    const fenced = await fence(t.dataSource, [heard]);
    expect(heard.hashes().filter((hash) => hash !== fenced)).toEqual([obsolete]);
  });

  it('one statement that ends many sessions: every hash, in as few notices as arrive together', async () => {
    const hashes = [await liveRow(), await liveRow(), await liveRow()];
    await t.dataSource.query(`UPDATE "session" SET revoked_at = now() WHERE id_hash = ANY($1)`, [
      hashes.map((hash) => Buffer.from(hash, 'hex')),
    ]);
    await waitFor('every row', () => hashes.every((hash) => heard.heard(hash)));
    expect([...heard.hashes()].sort()).toEqual([...hashes].sort());
    const ended = heard.notices.filter((notice) => notice.kind === 'ended');
    expect(ended.length).toBeLessThanOrEqual(hashes.length);
  });

  it('payloads that are not a hash are ignored, and a subscriber that throws does not stop the others', async () => {
    const thrower = t.app.get(SessionChangeListener).subscribe(() => {
      throw new Error('a broken subscriber');
    });
    try {
      await t.dataSource.query(`SELECT pg_notify($1, 'not a hash'), pg_notify($1, upper($2))`, [
        SESSION_ENDED_CHANNEL,
        fenceHash(),
      ]);
      const hash = await liveRow();
      await update(`revoked_at = now()`, hash);
      await waitFor('the revoked row', () => heard.heard(hash));
      expect(heard.hashes()).toEqual([hash]);
    } finally {
      thrower();
    }
  });
});

/**
 * A TCP forwarder to the database for the listening connection (through `listenConnection`)
 * that a test can make fail: `reset` closes every connection and each new one at once (counted
 * in `attempts`), `stall` keeps them open but forwards nothing (a partition no one reports).
 */
class ListenProxy {
  private readonly server: Server = createServer((client) => this.accept(client));
  private readonly open = new Set<{ client: Socket; upstream: Socket | null }>();
  private mode: 'forward' | 'reset' | 'stall' = 'forward';
  attempts = 0;

  constructor(private readonly target: URL) {}

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  /** The database URL through the proxy. */
  url(): string {
    const url = new URL(this.target);
    url.hostname = '127.0.0.1';
    url.port = String((this.server.address() as { port: number }).port);
    return url.toString();
  }

  forward(): void {
    this.mode = 'forward';
    this.dropAll();
  }

  reset(): void {
    this.mode = 'reset';
    this.dropAll();
  }

  stall(): void {
    this.mode = 'stall';
    for (const { client, upstream } of this.open) {
      client.unpipe();
      upstream?.unpipe();
      client.pause();
      upstream?.pause();
    }
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private dropAll(): void {
    for (const { client, upstream } of this.open) {
      client.destroy();
      upstream?.destroy();
    }
    this.open.clear();
  }

  private accept(client: Socket): void {
    this.attempts++;
    client.on('error', () => client.destroy());
    if (this.mode === 'reset') {
      client.destroy();
      return;
    }
    const entry = { client, upstream: null as Socket | null };
    this.open.add(entry);
    client.on('close', () => this.open.delete(entry));
    if (this.mode === 'stall') {
      client.pause();
      return;
    }
    const upstream = createConnection(Number(this.target.port || 5432), this.target.hostname);
    entry.upstream = upstream;
    upstream.on('error', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}

describeOnServer(
  'live sign-out signal: a lost connection is noticed, reported once and reopened',
  () => {
    const proxy = new ListenProxy(new URL(testDatabaseUrl()));
    let t: TestApp;
    let heard: Heard;
    let warn: jest.SpyInstance;
    const outageWarnings = () =>
      warn.mock.calls.filter(([message]) =>
        String(message).startsWith('The connection that listens for ended sessions failed'),
      );

    beforeAll(async () => {
      await proxy.start();
      t = await startApp('express', {
        options: { ...WITHOUT_CACHE, listenConnection: proxy.url() },
      });
    });
    afterAll(async () => {
      await t.close();
      await proxy.close();
    });
    beforeEach(async () => {
      proxy.forward();
      warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      heard = new Heard(t.app.get(SessionChangeListener));
      await listeningAndResynced(heard);
    });
    afterEach(() => {
      heard.unsubscribe();
      warn.mockRestore();
    });

    it('through listenConnection: the backend killed, then listening again on a new one, with a resync', async () => {
      const listener = heard.listener;
      const pid = listener.backendPid!;
      expect(await backendConnected(t.dataSource, pid)).toBe(true);
      const attempts = proxy.attempts;
      heard.clear();
      await t.dataSource.query(`SELECT pg_terminate_backend($1)`, [pid]);
      await waitFor('listening to stop', () => !listener.listening);
      await waitFor('a resync', () => listener.listening && heard.resyncs() === 1);
      expect(listener.backendPid).not.toBe(pid);
      expect(proxy.attempts).toBeGreaterThan(attempts);
      expect(outageWarnings()).toHaveLength(1);
      const browser = await loggedIn(t.url, 'after-reconnect');
      const hash = hashOf(browser);
      await browser.post('/logout');
      await waitFor('a notice on the new connection', () => heard.heard(hash));
    });

    it('while the database refuses, attempts repeat with one warning for the whole outage', async () => {
      const listener = heard.listener;
      heard.clear();
      const attempts = proxy.attempts;
      proxy.reset();
      await waitFor('listening to stop', () => !listener.listening);
      // 100, 200, 400 ms: three failed attempts after the loss.
      await waitFor('three attempts', () => proxy.attempts >= attempts + 3);
      expect(outageWarnings()).toHaveLength(1);
      expect(heard.resyncs()).toBe(0);
      proxy.forward();
      await waitFor('a resync', () => listener.listening && heard.resyncs() === 1);
      expect(outageWarnings()).toHaveLength(1);
    });

    it('a connection that stops answering is dropped by the heartbeat within 4 s', async () => {
      const listener = heard.listener;
      heard.clear();
      proxy.stall();
      const stalled = Date.now();
      await waitFor('listening to stop', () => !listener.listening, 6_000);
      expect(Date.now() - stalled).toBeLessThan(4_000 + 500);
      expect(outageWarnings()).toEqual([[expect.stringContaining('no answer within 2 s')]]);
      proxy.forward();
      await waitFor('a resync', () => listener.listening && heard.resyncs() === 1);
    });
  },
);

describeOnServer(
  'live sign-out signal: the connection follows the subscribers and the application',
  () => {
    it('no connection until the first subscriber, none after the last leaves, none after close', async () => {
      const t = await startApp('express', { options: WITHOUT_CACHE });
      const probe = new DataSource({ type: 'postgres', url: testDatabaseUrl() });
      await probe.initialize();
      let closed = false;
      try {
        const listener = t.app.get(SessionChangeListener);
        expect(listener.available).toBe(true);
        expect(listener.listening).toBe(false);
        const first = new Heard(listener);
        const second = new Heard(listener);
        await listeningAndResynced(first);
        const pid = listener.backendPid!;
        expect(await backendConnected(probe, pid)).toBe(true);
        first.unsubscribe();
        expect(listener.listening).toBe(true);
        second.unsubscribe();
        expect(listener.listening).toBe(false);
        await waitFor('the backend to go', async () => !(await backendConnected(probe, pid)));

        const again = new Heard(listener);
        await listeningAndResynced(again);
        const pidAgain = listener.backendPid!;
        expect(pidAgain).not.toBe(pid);
        closed = true;
        await t.close();
        expect(listener.listening).toBe(false);
        await waitFor('the backend to go', async () => !(await backendConnected(probe, pidAgain)));
        // After shutdown, a late subscriber opens nothing.
        new Heard(listener);
        expect(listener.listening).toBe(false);
        expect(listener.backendPid).toBeUndefined();
      } finally {
        if (!closed) await t.close();
        await probe.destroy();
      }
    });

    it("a session store of the application's own: not available, never listening", async () => {
      const t = await startApp('express', {
        sessionModule: SessionModule.forRoot({
          csrf: { enabled: false },
          ...storageOptions(),
          repositories: {
            imports: [MemoryStoreModule],
            session: InMemorySessionRepository,
            rememberMe: {
              useFactory: (store: MemoryStore) => new InMemoryRememberMeRepository(store),
              inject: [MemoryStore],
            },
          },
        }),
      });
      try {
        const listener = t.app.get(SessionChangeListener);
        expect(listener.available).toBe(false);
        const heard = new Heard(listener);
        await new Promise((resolve) => setImmediate(resolve));
        expect(listener.listening).toBe(false);
        expect(heard.notices).toEqual([]);
        heard.unsubscribe();
      } finally {
        await t.close();
      }
    });
  },
);

describeOnServer('live sign-out signal: the migration', () => {
  const name = runDatabaseName('listen_migration');
  let dataSource: DataSource;

  beforeAll(async () => {
    dataSource = new DataSource({
      type: 'postgres',
      url: await createTestDatabase(name),
      migrations: SESSION_MIGRATIONS,
    });
    await dataSource.initialize();
  });
  afterAll(async () => {
    await dataSource.destroy();
    await dropTestDatabase(name);
  });

  const triggers = async () =>
    (
      await dataSource.query(
        `SELECT tgname FROM pg_trigger WHERE tgrelid = '"session"'::regclass AND NOT tgisinternal ORDER BY tgname`,
      )
    ).map((row: { tgname: string }) => row.tgname);
  const functions = async () =>
    (
      await dataSource.query(
        `SELECT proname FROM pg_proc WHERE proname LIKE 'session\\_%\\_notify' ORDER BY proname`,
      )
    ).map((row: { proname: string }) => row.proname);
  const ENDED = ['session_ended_on_delete', 'session_ended_on_update'];
  const ALL = ['session_changed_on_truncate', 'session_ended_on_delete', 'session_ended_on_update'];

  it('up creates the triggers and their functions, down drops them, up again restores them', async () => {
    await dataSource.runMigrations();
    expect(SESSION_MIGRATIONS.slice(-2)).toEqual([
      SessionEndedNotification1764000000004,
      SessionChangedNotification1764000000005,
    ]);
    expect(await triggers()).toEqual(ALL);
    expect(await functions()).toEqual(['session_ended_notify', 'session_truncated_notify']);
    await dataSource.undoLastMigration();
    expect(await triggers()).toEqual(ENDED);
    expect(await functions()).toEqual(['session_ended_notify']);
    await dataSource.undoLastMigration();
    expect(await triggers()).toEqual([]);
    expect(await functions()).toEqual([]);
    await dataSource.runMigrations();
    expect(await triggers()).toEqual(ALL);
  });
});
