import { ManualClock, SESSION_CLOSE_CODE } from 'nest-session-security';
import { type RawData, WebSocket } from 'ws';
import { UsersService } from '../../sample/users/users.service';
import {
  SAMPLE_ADAPTERS,
  SAMPLE_COOKIE,
  SampleApp,
  SampleClient,
  SampleDatabase,
  startSample,
  USER_AGENTS,
} from '../support/sample-app';
import { HandshakeRefused, SocketClient } from '../support/socket-client';

const T0 = new Date('2030-01-01T09:00:00.000Z');
const MINUTE = 60_000;
/** How soon the package closes the socket of a session that ended (issue 15: within 2 s). */
const CLOSE_BOUND_MS = 2000;

const ALICE = { username: 'alice', password: 'alice-demo-password' };
const BOB = { username: 'bob', password: 'bob-demo-password' };

let database: SampleDatabase;

beforeAll(async () => {
  database = await SampleDatabase.create('websocket');
});
afterAll(() => database?.drop());

describe.each(SAMPLE_ADAPTERS)('sample WebSocket, GET /ws (%s)', (adapter) => {
  let sample: SampleApp;
  const clock = new ManualClock(T0);
  const sockets: SocketClient[] = [];

  async function signedIn(user = ALICE, agent?: string): Promise<SampleClient> {
    const browser = new SampleClient(sample.url, agent);
    await browser.signIn(user.username, user.password);
    return browser;
  }

  /** Opens `/ws` of `app` with the client's cookies; `origin` as a browser would send it. */
  async function connect(
    browser: SampleClient | null,
    origin?: string,
    app: SampleApp = sample,
  ): Promise<SocketClient> {
    const socket = await SocketClient.connect(`${app.url}/ws`, {
      cookie: browser?.cookieHeader,
      origin,
    });
    sockets.push(socket);
    return socket;
  }

  /** A signed-in client's socket, past its hello. */
  async function greeted(browser: SampleClient, app: SampleApp = sample): Promise<SocketClient> {
    const socket = await connect(browser, app.url, app);
    expect(await socket.next()).toEqual({ type: 'hello', user: expect.any(String) });
    return socket;
  }

  /**
   * What the socket got after its session ended by `end`, and how long after `end` started it
   * closed: the `session.ended` message, then the close with 4401 and the same code.
   */
  async function endedBy(
    socket: SocketClient,
    end: () => Promise<unknown>,
  ): Promise<{ message: unknown; close: unknown; ms: number }> {
    const started = Date.now();
    await end();
    const close = await socket.closeWithin(CLOSE_BOUND_MS);
    const ms = Date.now() - started;
    return { message: await socket.next(0).catch(() => 'no message'), close, ms };
  }

  function expectEnded(
    result: { message: unknown; close: unknown; ms: number },
    code: string,
  ): void {
    expect(result.message).toEqual({ type: 'session.ended', code });
    expect(result.close).toEqual({ code: SESSION_CLOSE_CODE, reason: code });
    expect(result.ms).toBeLessThan(CLOSE_BOUND_MS);
  }

  async function handleOf(browser: SampleClient): Promise<string> {
    const me = await browser.get('/api/me');
    expect(me.status).toBe(200);
    return me.body.session.handle as string;
  }

  beforeAll(async () => {
    sample = await startSample(adapter, { databaseUrl: database.url, clock });
  });
  afterAll(() => sample?.close());
  beforeEach(async () => {
    clock.set(T0);
    await sample.dataSource.query(`TRUNCATE "session", "remember_me_token"`);
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });

  describe('connecting', () => {
    it('signed in: the first message is {"type":"hello","user":"<username>"}', async () => {
      const socket = await connect(await signedIn(BOB), sample.url);
      expect(await socket.next()).toEqual({ type: 'hello', user: 'bob' });
      expect(await socket.closeWithin(200)).toBe('open');
    });

    it('the first message is sent as JSON text exactly as documented', async () => {
      const browser = await signedIn();
      const socket = new WebSocket(`${sample.url.replace('http', 'ws')}/ws`, {
        headers: { cookie: browser.cookieHeader },
      });
      try {
        const [data, isBinary] = await new Promise<[RawData, boolean]>((resolve, reject) => {
          socket.once('message', (raw, binary) => resolve([raw, binary]));
          socket.once('error', reject);
        });
        expect(isBinary).toBe(false);
        expect(data.toString()).toBe('{"type":"hello","user":"alice"}');
      } finally {
        socket.close();
      }
    });

    it('without a cookie: closed with 4401 session_required, and nothing sent', async () => {
      const socket = await connect(null);
      expect(await socket.closed).toEqual({
        code: SESSION_CLOSE_CODE,
        reason: 'session_required',
      });
      await expect(socket.next(0)).rejects.toThrow('no message');
    });

    it('an anonymous session (a cart, no user): closed with 4401 session_required', async () => {
      const visitor = new SampleClient(sample.url);
      expect((await visitor.post('/api/cart/items', { sku: 'tea-01', qty: 1 })).status).toBe(201);
      expect(visitor.token).not.toBeNull();
      const socket = await connect(visitor, sample.url);
      expect(await socket.closed).toEqual({
        code: SESSION_CLOSE_CODE,
        reason: 'session_required',
      });
    });

    it('a made-up cookie: closed with 4401 session_required', async () => {
      const forger = new SampleClient(sample.url);
      forger.cookies.set(SAMPLE_COOKIE, 'A'.repeat(43));
      const socket = await connect(forger);
      expect(await socket.closed).toEqual({
        code: SESSION_CLOSE_CODE,
        reason: 'session_required',
      });
    });

    it('the cookie of a revoked session: closed with 4401 and the denial code', async () => {
      const laptop = await signedIn(ALICE, USER_AGENTS.chromeLinux);
      const phone = await signedIn(ALICE, USER_AGENTS.safariIphone);
      const copy = phone.cookieHeader;
      expect((await laptop.post('/api/sessions/revoke-others')).status).toBe(204);
      const stolen = new SampleClient(sample.url);
      stolen.cookies.set(SAMPLE_COOKIE, copy.split('=')[1]);
      const socket = await connect(stolen);
      expect(await socket.closed).toEqual({
        code: SESSION_CLOSE_CODE,
        reason: 'session_revoked',
      });
    });

    it('cross-site WebSocket hijacking: a handshake from another site is refused with 403', async () => {
      const browser = await signedIn();
      await expect(connect(browser, 'https://evil.example')).rejects.toEqual(
        new HandshakeRefused(403),
      );
      // A page of the same host on another port is another origin too.
      const otherPort = `http://127.0.0.1:${sample.port === 65535 ? 1 : sample.port + 1}`;
      await expect(connect(browser, otherPort)).rejects.toEqual(new HandshakeRefused(403));
      // The same browser from the sample's own page is let in.
      expect(await (await connect(browser, sample.url)).next()).toEqual({
        type: 'hello',
        user: 'alice',
      });
    });

    it('a handshake without a session starts none', async () => {
      const rows = async () =>
        (await sample.dataSource.query(`SELECT count(*)::int AS n FROM "session"`))[0].n;
      const socket = await connect(null);
      await socket.closed;
      expect(await rows()).toBe(0);
    });
  });

  describe('when the session ends anywhere: {"type":"session.ended","code"} then close 4401', () => {
    it('signed out from another device (the session list): session_revoked', async () => {
      const laptop = await signedIn(ALICE, USER_AGENTS.chromeLinux);
      const phone = await signedIn(ALICE, USER_AGENTS.safariIphone);
      const laptopSocket = await greeted(laptop);
      const phoneSocket = await greeted(phone);
      const handle = await handleOf(phone);
      expectEnded(
        await endedBy(phoneSocket, () => laptop.delete(`/api/sessions/${handle}`)),
        'session_revoked',
      );
      expect(await laptopSocket.closeWithin(300)).toBe('open');
    });

    it('"sign out everywhere else": every other device, not this one', async () => {
      const laptop = await signedIn(ALICE, USER_AGENTS.chromeLinux);
      const phone = await signedIn(ALICE, USER_AGENTS.safariIphone);
      const desktop = await signedIn(ALICE, USER_AGENTS.firefoxWindows);
      const own = await greeted(laptop);
      const others = [await greeted(phone), await greeted(desktop)];
      expect((await laptop.post('/api/sessions/revoke-others')).status).toBe(204);
      for (const socket of others) {
        expect(await socket.closeWithin(CLOSE_BOUND_MS)).toEqual({
          code: SESSION_CLOSE_CODE,
          reason: 'session_revoked',
        });
        expect(await socket.next(0)).toEqual({ type: 'session.ended', code: 'session_revoked' });
      }
      expect(await own.closeWithin(300)).toBe('open');
    });

    it("sign out on this device: session_ended; another user's socket stays open", async () => {
      const alice = await signedIn(ALICE);
      const bob = await signedIn(BOB);
      const aliceSocket = await greeted(alice);
      const bobSocket = await greeted(bob);
      expectEnded(
        await endedBy(aliceSocket, () => alice.post('/api/auth/logout')),
        'session_ended',
      );
      expect(await bobSocket.closeWithin(300)).toBe('open');
    });

    it('"sign out everywhere": every socket of the user, the signing-out device included', async () => {
      const laptop = await signedIn(ALICE, USER_AGENTS.chromeLinux);
      const phone = await signedIn(ALICE, USER_AGENTS.safariIphone);
      const bob = await greeted(await signedIn(BOB));
      const laptopSockets = [await greeted(laptop), await greeted(laptop)];
      const phoneSocket = await greeted(phone);
      expect((await laptop.post('/api/auth/logout-all')).status).toBe(204);
      // This device signed out (the route logs it out first), every other one was revoked.
      const ended = { code: SESSION_CLOSE_CODE, reason: 'session_ended' };
      const revoked = { code: SESSION_CLOSE_CODE, reason: 'session_revoked' };
      expect(
        await Promise.all(
          [...laptopSockets, phoneSocket].map((socket) => socket.closeWithin(CLOSE_BOUND_MS)),
        ),
      ).toEqual([ended, ended, revoked]);
      expect(await phoneSocket.next(0)).toEqual({ type: 'session.ended', code: 'session_revoked' });
      expect(await bob.closeWithin(300)).toBe('open');
    });

    it("a password change ends the user's other sessions: session_revoked", async () => {
      const carol = { username: `carol-ws-${adapter}`, password: 'carol-first-password' };
      await sample.app.get(UsersService).createIfMissing(carol.username, carol.password);
      const laptop = await signedIn(carol, USER_AGENTS.chromeLinux);
      const phone = await signedIn(carol, USER_AGENTS.safariIphone);
      const laptopSocket = await greeted(laptop);
      const phoneSocket = await greeted(phone);
      expectEnded(
        await endedBy(phoneSocket, async () => {
          const response = await laptop.post('/api/auth/password', {
            currentPassword: carol.password,
            newPassword: 'carol-second-password',
          });
          expect(response.status).toBe(204);
        }),
        'session_revoked',
      );
      // The laptop's session got a new ID across an authentication boundary, which the old ID
      // (its socket's) never reaches; the page opens its socket again and is still signed in.
      await laptopSocket.closed;
      expect(await (await connect(laptop, sample.url)).next()).toEqual({
        type: 'hello',
        user: carol.username,
      });
    });

    it('idle expiry by the clock: session_idle_expired, with no request at all', async () => {
      const socket = await greeted(await signedIn());
      clock.advance(31 * MINUTE);
      // The package looks at deadlines every second: the close comes within that and the bound.
      expect(await socket.closeWithin(1000 + CLOSE_BOUND_MS)).toEqual({
        code: SESSION_CLOSE_CODE,
        reason: 'session_idle_expired',
      });
      expect(await socket.next(0)).toEqual({
        type: 'session.ended',
        code: 'session_idle_expired',
      });
    });

    it('on another instance of the sample on the same database: closed there too', async () => {
      const other = await startSample(adapter, { databaseUrl: database.url, clock });
      try {
        const laptop = await signedIn(ALICE, USER_AGENTS.chromeLinux);
        const phone = new SampleClient(other.url, USER_AGENTS.safariIphone);
        await phone.signIn(ALICE.username, ALICE.password);
        const phoneSocket = await greeted(phone, other);
        const handle = await handleOf(phone);
        expectEnded(
          await endedBy(phoneSocket, () => laptop.delete(`/api/sessions/${handle}`)),
          'session_revoked',
        );
      } finally {
        await other.close();
      }
    });
  });
});
