import { SESSION_CLOSE_CODE } from 'nest-session-security';
import { SessionChangeListener } from '../lib/storage/session-change-listener';
import { Browser, COOKIE, rowFor } from './support/http-client';
import { HandshakeRefused, SocketClient } from './support/socket-client';
import {
  CLOSE_BOUND_MS,
  cookieOf,
  openAccount,
  signIn,
  copyOf,
  expectSignedOut,
  socketSetup as setup,
} from './support/socket-test-app';
import { ADAPTERS, clockAt, startApp, TestApp, useTestApp } from './support/test-app';
import { testDatabaseUrl } from './support/database-url';
import { TcpProxy } from './support/tcp-proxy';

const MINUTE = 60_000;

describe.each(ADAPTERS)('WebSocket gateways (%s)', (adapter) => {
  const t = useTestApp(adapter, setup);

  describe('handshake', () => {
    it('a signed-in browser opens the gateway; handlers see its session', async () => {
      const browser = await signIn(t);
      const socket = await SocketClient.connect(`${t.url}/ws`, { cookie: cookieOf(browser) });
      expect(await socket.next()).toEqual({ type: 'hello', user: 'alice' });
      expect(await socket.ask('whoami')).toEqual({
        event: 'whoami',
        data: { userId: 'alice', handle: expect.any(String), data: {} },
      });
      socket.close();
    });

    it('without a session, an authenticated gateway closes the socket with 4401 session_required', async () => {
      const socket = await SocketClient.connect(`${t.url}/ws`);
      expect(await socket.closed).toEqual({ code: SESSION_CLOSE_CODE, reason: 'session_required' });
    });

    it('a made-up cookie is refused as no session and counted as unknown', async () => {
      const socket = await SocketClient.connect(`${t.url}/ws`, {
        cookie: `${COOKIE}=${'x'.repeat(43)}`,
      });
      expect(await socket.closed).toEqual({ code: SESSION_CLOSE_CODE, reason: 'session_required' });
    });

    it('a public gateway lets anyone in; its authenticated handler refuses them', async () => {
      const socket = await SocketClient.connect(`${t.url}/public-ws`);
      expect(await socket.ask('whoami')).toEqual({ event: 'whoami', data: { userId: null } });
      expect(await socket.ask('private')).toEqual({
        event: 'exception',
        data: { status: 'error', code: 'session_required', message: expect.any(String) },
      });
      expect(await socket.closeWithin(100)).toBe('open');
      socket.close();
    });

    it('cross-site WebSocket hijacking: a handshake from another site is refused with 403', async () => {
      const browser = await signIn(t);
      const refused = SocketClient.connect(`${t.url}/ws`, {
        cookie: cookieOf(browser),
        origin: 'https://evil.example',
      });
      await expect(refused).rejects.toEqual(new HandshakeRefused(403));
      const same = await SocketClient.connect(`${t.url}/ws`, {
        cookie: cookieOf(browser),
        origin: t.url,
      });
      expect(await same.next()).toEqual({ type: 'hello', user: 'alice' });
      same.close();
      expect(t.events.some((event) => event.type === 'csrf.rejected')).toBe(true);
    });

    it('an old token: a logged-out session cannot open a socket', async () => {
      const browser = await signIn(t);
      const stolen = cookieOf(browser);
      await browser.post('/logout');
      const socket = await SocketClient.connect(`${t.url}/ws`, { cookie: stolen });
      expect((await socket.closed).code).toBe(SESSION_CLOSE_CODE);
    });

    it('an expired session cannot open a socket', async () => {
      const browser = await signIn(t);
      clockAt(t, 31 * MINUTE);
      const socket = await SocketClient.connect(`${t.url}/ws`, { cookie: cookieOf(browser) });
      expect(await socket.closed).toEqual({
        code: SESSION_CLOSE_CODE,
        reason: 'session_idle_expired',
      });
    });
  });

  describe('messages', () => {
    it('data written in a handler is saved, and HTTP sees it', async () => {
      const browser = await signIn(t);
      const socket = await openAccount(t, browser);
      expect(await socket.ask('set', { key: 'theme', value: 2 })).toEqual({
        event: 'set',
        data: { ok: true },
      });
      await Promise.all([socket.ask('add', { by: 1 }), socket.ask('add', { by: 2 })]);
      const row = await rowFor(t.dataSource, browser.token!);
      expect(row?.data).toEqual({ theme: 2, count: 3 });
      expect((await browser.get('/private')).body.data).toEqual({ theme: 2, count: 3 });
      socket.close();
    });

    it('a new session ID cannot be made over a socket: a clear error, nothing changes', async () => {
      const browser = await signIn(t);
      const socket = await openAccount(t, browser);
      const answer = (await socket.ask('regenerate')) as { data: { error: string } };
      expect(answer.data.error).toMatch(/WebSocket message has none: do it over HTTP/);
      expect((await rowFor(t.dataSource, browser.token!))?.obsoleted_at).toBeNull();
      expect((await browser.get('/private')).status).toBe(200);
      socket.close();
    });

    it('a message counts as activity: the idle deadline moves', async () => {
      const browser = await signIn(t);
      const socket = await openAccount(t, browser);
      clockAt(t, 25 * MINUTE);
      await socket.ask('whoami');
      clockAt(t, 50 * MINUTE);
      expect((await socket.ask('whoami')) as object).toMatchObject({ data: { userId: 'alice' } });
      socket.close();
    });

    it('@RequireFreshAuth applies to messages, by the injected clock', async () => {
      const browser = await signIn(t);
      const socket = await openAccount(t, browser);
      expect(await socket.ask('sensitive')).toEqual({ event: 'sensitive', data: { ok: true } });
      clockAt(t, 6 * MINUTE);
      await socket.ask('whoami');
      expect(await socket.ask('sensitive')).toEqual({
        event: 'exception',
        data: { status: 'error', code: 'reauth_required', message: expect.any(String) },
      });
      socket.close();
    });

    it('a rotation over HTTP moves the socket on to the successor', async () => {
      const browser = await signIn(t);
      const socket = await openAccount(t, browser);
      const before = browser.token;
      expect((await browser.post('/elevate')).status).toBe(200);
      expect(browser.token).not.toBe(before);
      expect(await socket.closeWithin(300)).toBe('open');
      expect((await socket.ask('set', { key: 'after', value: 1 })) as object).toMatchObject({
        data: { ok: true },
      });
      expect((await rowFor(t.dataSource, browser.token!))?.data).toEqual({ after: 1 });
      socket.close();
    });
  });

  describe('live sign-out', () => {
    it.each([
      ['logout', async (b: Browser) => void (await b.post('/logout')), 'session_ended'],
      [
        'logout everywhere',
        async (b: Browser) => void (await b.post('/logout-all')),
        'session_revoked',
      ],
    ])('%s closes the socket with 4401 and the code', async (_, end, code) => {
      const browser = await signIn(t);
      const socket = await openAccount(t, browser);
      const started = Date.now();
      await end(browser);
      expect(await socket.closeWithin(CLOSE_BOUND_MS)).toEqual({
        code: SESSION_CLOSE_CODE,
        reason: code,
      });
      expect(Date.now() - started).toBeLessThan(CLOSE_BOUND_MS);
    });

    it("revoking one device from another closes that device's sockets only", async () => {
      const laptop = await signIn(t);
      const phone = await signIn(t);
      const laptopSocket = await openAccount(t, laptop);
      const phoneSocket = await openAccount(t, phone);
      const phoneHandle = ((await phoneSocket.ask('whoami')) as { data: { handle: string } }).data
        .handle;
      expect((await laptop.delete(`/sessions/${phoneHandle}`)).status).toBe(204);
      await expectSignedOut(phoneSocket, 'session_revoked');
      expect(await laptopSocket.closeWithin(200)).toBe('open');
      laptopSocket.close();
    });

    it.each([
      ['revoke-others', '/sessions/revoke-others'],
      ['a password change', '/password'],
    ])("%s closes the sockets of the other devices, not the caller's own", async (_, path) => {
      const laptop = await signIn(t);
      const phone = await signIn(t);
      const laptopSocket = await openAccount(t, laptop);
      const phoneSocket = await openAccount(t, phone);
      expect((await laptop.post(path)).status).toBe(200);
      await expectSignedOut(phoneSocket, 'session_revoked');
      if (path === '/password') {
        // The caller's session got a new ID across an authentication boundary: reconnect.
        await expectSignedOut(laptopSocket, 'session_ended');
      } else {
        expect(await laptopSocket.closeWithin(200)).toBe('open');
        laptopSocket.close();
      }
    });

    it('absolute expiry closes the socket, however active it is', async () => {
      const browser = await signIn(t);
      const socket = await openAccount(t, browser);
      for (let minutes = 20; minutes < 8 * 60; minutes += 20) {
        clockAt(t, minutes * MINUTE);
        await socket.ask('whoami');
      }
      clockAt(t, 8 * 60 * MINUTE + 1);
      await expectSignedOut(socket, 'session_absolute_expired');
    });

    it('idle expiry closes the socket once the clock passes the deadline', async () => {
      const browser = await signIn(t);
      const socket = await openAccount(t, browser);
      clockAt(t, 31 * MINUTE);
      expect(await socket.closeWithin(CLOSE_BOUND_MS + 500)).toEqual({
        code: SESSION_CLOSE_CODE,
        reason: 'session_idle_expired',
      });
    });

    it('a sign-out wins over a message in flight: no message is served after it', async () => {
      const browser = await signIn(t);
      const socket = await openAccount(t, browser);
      await browser.post('/logout');
      socket.send('whoami');
      const outcome = await Promise.race([socket.next(1000).then(() => 'served'), socket.closed]);
      expect(outcome).toEqual({ code: SESSION_CLOSE_CODE, reason: 'session_ended' });
    });
  });
});

describe.each(ADAPTERS)('live sign-out across instances (%s)', (adapter) => {
  const a = useTestApp(adapter, setup);
  let b: TestApp;
  beforeAll(async () => {
    b = await startApp(adapter, setup);
  });
  afterAll(() => b.close());

  it('a revocation on one instance closes the socket held by the other', async () => {
    const browser = await signIn(a);
    const socket = await openAccount(a, browser);
    const other = copyOf(b, browser);
    const started = Date.now();
    expect((await other.post('/logout-all')).status).toBe(200);
    await expectSignedOut(socket, 'session_revoked');
    expect(Date.now() - started).toBeLessThan(CLOSE_BOUND_MS);
  });

  it("a killed notification connection: the revoked session's socket still closes", async () => {
    const browser = await signIn(a);
    const socket = await openAccount(a, browser);
    const listener = a.app.get(SessionChangeListener);
    for (let wait = 0; wait < 100 && !listener.listening; wait++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const pid = listener.backendPid;
    expect(pid).toEqual(expect.any(Number));
    const [killed] = (await a.dataSource.query('SELECT pg_terminate_backend($1) AS killed', [
      pid,
    ])) as { killed: boolean }[];
    expect(killed.killed).toBe(true);
    const other = copyOf(b, browser);
    expect((await other.post('/logout-all')).status).toBe(200);
    await expectSignedOut(socket, 'session_revoked');
    expect(listener.backendPid).not.toBe(pid);
  });
});

describe.each(ADAPTERS)('live sign-out without notifications (%s)', (adapter) => {
  const proxy = TcpProxy.for(testDatabaseUrl());
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    await proxy.start();
    // Instance A listens through the proxy, so the test can cut its notifications alone.
    a = await startApp(adapter, {
      ...setup,
      options: { ...setup.options, listenConnection: proxy.urlThrough(testDatabaseUrl()) },
    });
    b = await startApp(adapter, setup);
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
    await proxy.close();
  });

  /** Whether A's listener reaches the state `expected` within 10 s. */
  async function listening(expected: boolean): Promise<boolean> {
    const listener = a.app.get(SessionChangeListener);
    const deadline = Date.now() + 10_000;
    while (listener.listening !== expected && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return listener.listening;
  }

  it('a session revoked while the listening connection is down still closes its socket within the bound', async () => {
    const browser = await signIn(a);
    const socket = await openAccount(a, browser);
    expect(await listening(true)).toBe(true);
    await proxy.refuse();
    try {
      expect(await listening(false)).toBe(false);
      const other = copyOf(b, browser);
      const started = Date.now();
      expect((await other.post('/logout-all')).status).toBe(200);
      await expectSignedOut(socket, 'session_revoked');
      expect(Date.now() - started).toBeLessThan(CLOSE_BOUND_MS);
      expect(a.app.get(SessionChangeListener).listening).toBe(false);
    } finally {
      await proxy.forward();
    }
  });

  it('once the connection is back, notifications close sockets again', async () => {
    const browser = await signIn(a);
    const socket = await openAccount(a, browser);
    expect(await listening(true)).toBe(true);
    const other = copyOf(b, browser);
    expect((await other.post('/logout-all')).status).toBe(200);
    await expectSignedOut(socket, 'session_revoked');
  });
});

describe.each(ADAPTERS)('WebSockets while the database is away (%s)', (adapter) => {
  const proxy = TcpProxy.for(testDatabaseUrl());
  let t: TestApp;
  beforeAll(async () => {
    await proxy.start();
    t = await startApp(adapter, {
      ...setup,
      databaseUrl: proxy.urlThrough(testDatabaseUrl()),
    });
  });
  afterAll(async () => {
    await t.close();
    await proxy.close();
  });

  it('a message gets session_store_unavailable, a handshake 503; both work again once it is back', async () => {
    const browser = await signIn(t);
    const socket = await openAccount(t, browser);
    await proxy.refuse();
    // With the session cache, a copy answers until the listening connection (through the same
    // proxy) is known lost; from then on every read goes to the store.
    const listener = t.app.get(SessionChangeListener);
    while (listener.listening) await new Promise((resolve) => setTimeout(resolve, 5));
    try {
      expect(await socket.ask('whoami')).toEqual({
        event: 'exception',
        data: { status: 'error', code: 'session_store_unavailable', message: expect.any(String) },
      });
      await expect(
        SocketClient.connect(`${t.url}/ws`, { cookie: cookieOf(browser) }),
      ).rejects.toEqual(new HandshakeRefused(503));
      expect(await socket.closeWithin(1500)).toBe('open');
    } finally {
      await proxy.forward();
    }
    let answer: unknown;
    for (let attempt = 0; attempt < 50; attempt++) {
      answer = await socket.ask('whoami');
      if ((answer as { event: string }).event === 'whoami') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(answer).toMatchObject({ event: 'whoami', data: { userId: 'alice' } });
    const again = await SocketClient.connect(`${t.url}/ws`, { cookie: cookieOf(browser) });
    expect(await again.next()).toEqual({ type: 'hello', user: 'alice' });
    again.close();
    socket.close();
  });
});
