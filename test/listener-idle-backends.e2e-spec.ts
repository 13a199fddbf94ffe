import { HEARTBEAT_INTERVAL_MS, DEAD_CLIENT_TIMEOUT_MS } from '../lib/storage/listen-timings';
import { SessionChangeListener } from '../lib/storage/session-change-listener';
import { describeOnServer, cacheInUse } from './support/cache-instances';
import { testDatabaseUrl } from './support/database-url';
import { TcpProxy } from './support/tcp-proxy';
import { startApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait-for';

/*
 * The server process of a listening connection whose instance has gone without a word (a
 * crash, a partition: its close never reaches the server) ends by itself after
 * `idle_session_timeout` (15 s; PostgreSQL 14 and later), and with it the presence lock that
 * kept every other instance announcing its writes. Without it, PostgreSQL keeps that process
 * until TCP gives up (hours across a partition; here, until the proxy lets the close through).
 */

function listenerOf(t: TestApp): SessionChangeListener {
  return t.app.get(SessionChangeListener);
}

describeOnServer('a listening connection whose instance went without a word', () => {
  const proxy = TcpProxy.for(testDatabaseUrl());
  let a: TestApp;

  beforeAll(async () => {
    await proxy.start();
    a = await startApp('express');
  });
  afterAll(async () => {
    await a.close();
    await proxy.close();
  });

  it('ends at the server after idle_session_timeout, and the instance left counts itself alone again', async () => {
    const [{ version }] = await a.dataSource.query<{ version: number }[]>(
      "SELECT current_setting('server_version_num')::int AS version",
    );
    // idle_session_timeout came with PostgreSQL 14; before, such a process waits for TCP.
    if (version < 140_000) return;
    await cacheInUse(a);
    const b = await startApp('express', {
      options: { listenConnection: proxy.urlThrough(testDatabaseUrl()) },
    });
    let bClosed = false;
    try {
      await cacheInUse(b);
      const gone = listenerOf(b).backendPid!;
      await waitFor('A to know of B', () => !listenerOf(a).alone);
      const backendAlive = async () =>
        (
          await a.dataSource.query<unknown[]>('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [
            gone,
          ])
        ).length > 0;
      // B's host goes: its listening connection answers nothing more, and its close (B shut
      // down) never reaches the server, which keeps B's process and its presence lock.
      proxy.stall();
      const stalled = performance.now();
      await b.close();
      bClosed = true;
      expect(await backendAlive()).toBe(true);
      expect(listenerOf(a).alone).toBe(false);
      await waitFor(
        "the server to end B's process",
        async () => !(await backendAlive()),
        DEAD_CLIENT_TIMEOUT_MS + 5_000,
      );
      // Idle since its last heartbeat, at most an interval and an answer before the stall.
      expect(performance.now() - stalled).toBeGreaterThan(
        DEAD_CLIENT_TIMEOUT_MS - 2 * HEARTBEAT_INTERVAL_MS,
      );
      await waitFor('A to be alone again', () => listenerOf(a).alone, 4 * HEARTBEAT_INTERVAL_MS);
    } finally {
      await proxy.forward();
      if (!bClosed) await b.close();
    }
  });
});
