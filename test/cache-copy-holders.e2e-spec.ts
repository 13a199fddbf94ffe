import { Client } from 'pg';
import { SESSION_CHANGED_CHANNEL } from '../lib/storage/session-change-signal';
import { SessionChangeListener } from '../lib/storage/session-change-listener';
import { ANSWER_TIMEOUT_MS, HEARTBEAT_INTERVAL_MS } from '../lib/storage/listen-timings';
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
import { testDatabaseUrl } from './support/database-url';
import { TcpProxy } from './support/tcp-proxy';
import { startApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait-for';

/*
 * An instance that is the only one keeping copies of sessions announces its writes to no one
 * (issue 17: one statement per write). What must hold, whatever the timing: a second instance
 * never keeps a copy that a write of the first leaves stale, not while it joins, not after.
 */

function listenerOf(t: TestApp): SessionChangeListener {
  return t.app.get(SessionChangeListener);
}

/** The presence locks held, per backend process: `ShareLock` and/or `ExclusiveLock`. */
async function presenceLocks(): Promise<Map<number, string[]>> {
  const client = new Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number; mode: string }>(
      `SELECT pid, mode FROM pg_locks
       WHERE locktype = 'advisory' AND classid = 7238515 AND objid = 1668247673
         AND objsubid = 2 AND granted AND database = (
           SELECT oid FROM pg_database WHERE datname = current_database())
       ORDER BY pid, mode`,
    );
    const locks = new Map<number, string[]>();
    for (const { pid, mode } of rows) locks.set(pid, [...(locks.get(pid) ?? []), mode]);
    return locks;
  } finally {
    await client.end();
  }
}

/** Long enough for a heartbeat to find the instance alone (the first one after a join skips). */
const ALONE_AGAIN_MS = 3 * HEARTBEAT_INTERVAL_MS + ANSWER_TIMEOUT_MS;

async function aloneSoon(t: TestApp): Promise<void> {
  await cacheInUse(t);
  await waitFor('the instance to be alone', () => listenerOf(t).alone, ALONE_AGAIN_MS);
}

/** Lets the announcements of the writes answered so far go out (they leave on `setImmediate`). */
async function announcementsSent(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}

describeOnServer('an instance that alone keeps copies', () => {
  let a: TestApp;

  beforeAll(async () => {
    a = await startApp('express');
  });
  afterAll(() => a.close());

  afterEach(() => jest.restoreAllMocks());

  it('holds the presence lock exclusively and announces no write', async () => {
    await aloneSoon(a);
    const pid = listenerOf(a).backendPid!;
    expect((await presenceLocks()).get(pid)).toEqual(['ExclusiveLock', 'ShareLock']);

    const changes = await listenToChanges();
    try {
      const announce = jest.spyOn(listenerOf(a), 'announce');
      const browser = await signedInWithCopy(a, 'alice');
      a.statements.reset();
      expect((await browser.post('/private/data', { k: 'v1' })).status).toBe(200);
      await announcementsSent();
      // One statement on the pool, and none from the listening connection.
      expect(a.statements.count).toBe(1);
      expect(announce).not.toHaveBeenCalled();
      const marker = `${'0'.repeat(64)}:1`;
      await a.dataSource.query('SELECT pg_notify($1, $2)', [SESSION_CHANGED_CHANNEL, marker]);
      await waitFor('the marker', () => changes.heard.some(({ payload }) => payload === marker));
      expect(changes.heard.map(({ payload }) => payload)).toEqual([marker]);
    } finally {
      await changes.close();
    }
  });

  it('stops being alone when another instance joins, before that one uses its cache: writes reach its copies; alone again once it has gone', async () => {
    await aloneSoon(a);
    const browser = await signedInWithCopy(a, 'bob');
    const b = await startApp('express');
    try {
      await cacheInUse(b);
      expect(listenerOf(a).alone).toBe(false);
      expect(listenerOf(b).alone).toBe(false);
      const locks = await presenceLocks();
      expect(locks.get(listenerOf(a).backendPid!)).toEqual(['ShareLock']);
      expect(locks.get(listenerOf(b).backendPid!)).toEqual(['ShareLock']);

      // B keeps a copy; A's write drops it (B's clock stands still: only the announcement can).
      const onB = as(browser, b.url);
      expect((await onB.get('/private')).status).toBe(200);
      b.statements.reset();
      expect((await onB.get('/private')).body.data).toEqual({});
      expect(b.statements.count).toBe(0);
      expect((await browser.post('/private/data', { k: 'seen-on-b' })).status).toBe(200);
      await dataSeen(onB, 'k', 'seen-on-b');
    } finally {
      await b.close();
    }

    await waitFor('A to be alone again', () => listenerOf(a).alone, ALONE_AGAIN_MS);
    const announce = jest.spyOn(listenerOf(a), 'announce');
    expect((await browser.post('/private/data', { k: 'alone' })).status).toBe(200);
    await announcementsSent();
    expect(announce).not.toHaveBeenCalled();
  });

  it('writes under way while another instance joins are never left stale in its copies (5 rounds)', async () => {
    for (let round = 0; round < 5; round++) {
      await aloneSoon(a);
      const browser = await signedInWithCopy(a, `writer-${round}`);
      let acknowledged = 0;
      let writing = true;
      const writes = (async () => {
        for (let n = 1; writing; n++) {
          expect((await browser.post('/private/data', { n })).status).toBe(200);
          acknowledged = n;
        }
      })();
      const b = await startApp('express');
      try {
        await cacheInUse(b);
        // B reads, and keeps copies, while A writes.
        const onB = as(browser, b.url);
        for (let i = 0; i < 5; i++) expect((await onB.get('/private')).status).toBe(200);
        writing = false;
        await writes;
        expect(acknowledged).toBeGreaterThan(0);
        await waitFor(
          `B to read the last write (round ${round})`,
          async () => (await onB.get('/private')).body.data?.n === acknowledged,
          PROPAGATION_MS,
        );
      } finally {
        writing = false;
        await writes;
        await b.close();
      }
    }
  });
});

describeOnServer('an instance alone whose listening connection stalls; newcomers kept out', () => {
  const proxy = TcpProxy.for(testDatabaseUrl());
  let a: TestApp;
  const role = `nss_listener_${process.pid}`;
  const roleUrl = (() => {
    const url = new URL(testDatabaseUrl());
    url.username = role;
    url.password = 'listener';
    return url.toString();
  })();
  /** Statements of the test's own, as the test database's owner. */
  async function asOwner(sql: string): Promise<void> {
    const client = new Client({ connectionString: testDatabaseUrl() });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }
  /** A second instance listening as the role: started, its listening backend's pid. */
  async function startListening(): Promise<{ b: TestApp; pid: number | undefined }> {
    const b = await startApp('express', {
      options: { listenConnection: roleUrl },
      waitForCache: false,
    });
    await waitFor('B to listen', () => listenerOf(b).listening);
    return { b, pid: listenerOf(b).backendPid };
  }

  beforeAll(async () => {
    await asOwner(`CREATE ROLE ${role} LOGIN PASSWORD 'listener'`);
    await proxy.start();
    a = await startApp('express', {
      options: { listenConnection: proxy.urlThrough(testDatabaseUrl()) },
    });
  });
  afterAll(async () => {
    await a.close();
    await proxy.close();
    await asOwner(`DROP ROLE IF EXISTS ${role}`);
  });

  it("keeps a newcomer's cache unused while the instance may still count itself alone, then the newcomer ends the silent connection: every write is read meanwhile", async () => {
    await aloneSoon(a);
    const browser = await signedInWithCopy(a, 'carol');
    const stalledPid = listenerOf(a).backendPid!;
    proxy.stall();
    // A cannot hear B's join: its exclusive lock stays until someone ends its connection.
    const b = await startApp('express', { waitForCache: false });
    try {
      const onB = as(browser, b.url);
      // B listens meanwhile (live sign-out does not wait for the lock); only its cache waits.
      await waitFor('B to listen', () => listenerOf(b).listening);
      for (let n = 1; listenerOf(a).backendPid === stalledPid; n++) {
        expect((await browser.post('/private/data', { n })).status).toBe(200);
        // B has no cache in use: it reads the write A has just answered.
        expect(cacheOf(b).usable).toBe(false);
        expect((await onB.get('/private')).body.data).toEqual({ n });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // A gave its connection up (its lease ran out before): B ends the stalled backend, whose
      // lock the server would otherwise keep, and uses its cache.
      expect(listenerOf(a).alone).toBe(false);
      await cacheInUse(b);
      const stalled: unknown[] = await b.dataSource.query(
        'SELECT pid FROM pg_stat_activity WHERE pid = ANY($1)',
        [[stalledPid, listenerOf(b).backendPid]],
      );
      expect(stalled).toEqual([{ pid: listenerOf(b).backendPid }]);
      await proxy.forward();
      await cacheInUse(a);
      expect(listenerOf(a).alone).toBe(false);
      expect(listenerOf(b).alone).toBe(false);
      // Both hold a copy; A's write reaches B's.
      expect((await onB.get('/private')).status).toBe(200);
      expect((await browser.post('/private/data', { n: 'last' })).status).toBe(200);
      await dataSeen(onB, 'n', 'last');
    } finally {
      await proxy.forward();
      await b.close();
    }
  });

  it('a lock it may not take: it keeps listening on the same connection, its cache unused, until it may', async () => {
    await aloneSoon(a);
    const take = 'FUNCTION pg_try_advisory_lock_shared(integer, integer)';
    await asOwner(`REVOKE EXECUTE ON ${take} FROM PUBLIC`);
    try {
      const { b, pid } = await startListening();
      try {
        // Refused, tried again on the same connection (no reconnection), for a second or so.
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        expect(listenerOf(b).backendPid).toBe(pid);
        expect(cacheOf(b).usable).toBe(false);
        expect(listenerOf(a).alone).toBe(true);
        await asOwner(`GRANT EXECUTE ON ${take} TO PUBLIC`);
        await cacheInUse(b);
        expect(listenerOf(b).backendPid).toBe(pid);
        expect(listenerOf(a).alone).toBe(false);
      } finally {
        await b.close();
      }
    } finally {
      await asOwner(`GRANT EXECUTE ON ${take} TO PUBLIC`);
    }
  });

  it('a silent holder it may not end: it keeps listening, its cache unused, until the holder goes', async () => {
    await aloneSoon(a);
    const browser = await signedInWithCopy(a, 'dora');
    const stalledPid = listenerOf(a).backendPid!;
    proxy.stall();
    // B's role is no superuser: it may not end A's backend (the test database's owner's).
    const { b, pid } = await startListening();
    try {
      // Past the takeover's delay (5 s) and its refusal: still kept out, still listening.
      await new Promise((resolve) => setTimeout(resolve, 7_000));
      expect(cacheOf(b).usable).toBe(false);
      expect(listenerOf(b).backendPid).toBe(pid);
      const held: unknown[] = await b.dataSource.query(
        'SELECT pid FROM pg_stat_activity WHERE pid = $1',
        [stalledPid],
      );
      expect(held).toHaveLength(1);
      // Meanwhile B reads every write from the store.
      expect((await browser.post('/private/data', { k: 'kept-out' })).status).toBe(200);
      expect((await as(browser, b.url).get('/private')).body.data).toEqual({ k: 'kept-out' });
      // The holder's connection ends (the proxy lets its close through): B joins.
      await proxy.forward();
      await cacheInUse(b);
    } finally {
      await proxy.forward();
      await b.close();
    }
  });
});
