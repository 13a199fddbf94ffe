import { SESSION_CLOSE_CODE } from 'nest-session-security';
import { Browser, COOKIE } from './support/http-client';
import { HandshakeRefused, SocketClient } from './support/socket-client';
import {
  CLOSE_BOUND_MS,
  cookieOf,
  openAccount,
  signIn,
  copyOf,
  expectSignedOut,
  socketSetup,
} from './support/socket-test-app';
import { ADAPTERS, clockAt, TestApp, useTestApp } from './support/test-app';

const SECOND = 1_000;

/** The user's sessions that are still live in the table. */
async function liveRows(t: TestApp, userId: string): Promise<number> {
  const [{ count }] = (await t.dataSource.query(
    `SELECT count(*)::int AS count FROM "session"
      WHERE user_id = $1 AND revoked_at IS NULL AND obsoleted_at IS NULL`,
    [userId],
  )) as { count: number }[];
  return count;
}

describe.each(ADAPTERS)('WebSocket attacks (%s)', (adapter) => {
  const t = useTestApp(adapter, socketSetup);

  describe('someone holding an old or copied token', () => {
    it("a stolen ID replaced long ago opens no socket, and the attack response closes the victim's sockets", async () => {
      const victim = await signIn(t);
      const stolen = cookieOf(victim);
      expect((await victim.post('/elevate')).status).toBe(200);
      expect((await victim.get('/private')).status).toBe(200);
      const victimSocket = await openAccount(t, victim);
      clockAt(t, 5 * 60 * SECOND);
      const thief = await SocketClient.connect(`${t.url}/ws`, { cookie: stolen });
      expect(await thief.closed).toEqual({ code: SESSION_CLOSE_CODE, reason: 'session_obsolete' });
      await expectSignedOut(victimSocket, 'session_revoked');
      expect(await liveRows(t, 'alice')).toBe(0);
    });

    it('a planted pre-login session: its socket never reaches the session the victim signs in to', async () => {
      const attacker = new Browser(t.url);
      expect((await attacker.post('/public/data', { planted: 1 })).status).toBe(200);
      const attackerSocket = await SocketClient.connect(`${t.url}/public-ws`, {
        cookie: cookieOf(attacker),
      });
      expect(await attackerSocket.ask('whoami')).toEqual({
        event: 'whoami',
        data: { userId: null },
      });
      const victim = copyOf(t, attacker);
      expect((await victim.post('/login', { userId: 'alice' })).status).toBe(200);
      attackerSocket.send('whoami');
      const outcome = await Promise.race([
        attackerSocket.next(CLOSE_BOUND_MS),
        attackerSocket.closed,
      ]);
      expect(outcome).not.toEqual({ event: 'whoami', data: { userId: 'alice' } });
      await expectSignedOut(attackerSocket, 'session_ended');
      expect((await victim.get('/private')).status).toBe(200);
    });

    it('a revoked cookie cannot open a socket again', async () => {
      const browser = await signIn(t);
      const copy = copyOf(t, browser);
      expect((await browser.post('/logout-all')).status).toBe(200);
      const socket = await SocketClient.connect(`${t.url}/ws`, { cookie: cookieOf(copy) });
      expect(await socket.closed).toEqual({ code: SESSION_CLOSE_CODE, reason: 'session_revoked' });
    });
  });

  describe('hostile handshakes', () => {
    it.each([
      ['an opaque "null" origin', { origin: 'null' }],
      ['the same host on another port', { origin: 'http://127.0.0.1:1' }],
      ['an origin with user info', { origin: 'http://evil@127.0.0.1' }],
      ['a look-alike host', { origin: 'http://127.0.0.1.evil.example' }],
    ])('%s is refused with 403 before the upgrade', async (_, headers) => {
      const browser = await signIn(t);
      await expect(
        SocketClient.connect(`${t.url}/ws`, { cookie: cookieOf(browser), ...headers }),
      ).rejects.toEqual(new HandshakeRefused(403));
    });

    it('a malformed cookie value is no session (4401) and loses nothing', async () => {
      const browser = await signIn(t);
      const socket = await SocketClient.connect(`${t.url}/ws`, {
        cookie: `${COOKIE}=%00%ff; ${COOKIE}=${'!'.repeat(300)}`,
      });
      expect(await socket.closed).toEqual({ code: SESSION_CLOSE_CODE, reason: 'session_required' });
      expect((await browser.get('/private')).status).toBe(200);
    });
  });

  describe('revocation racing a regeneration', () => {
    it('a revocation while a regeneration waits: the socket closes and no live successor is left', async () => {
      const browser = await signIn(t);
      const socket = await openAccount(t, browser);
      const copy = copyOf(t, browser);
      const regenerating = browser.post('/elevate?gate=1');
      await t.gate.arrived(1);
      expect((await copy.post('/logout-all')).status).toBe(200);
      t.gate.open();
      await regenerating;
      await expectSignedOut(socket, 'session_revoked');
      expect(await liveRows(t, 'alice')).toBe(0);
    });

    it('a regeneration just before the revocation: the socket follows it, then closes', async () => {
      const browser = await signIn(t);
      const socket = await openAccount(t, browser);
      const copy = copyOf(t, browser);
      expect((await browser.post('/elevate')).status).toBe(200);
      expect((await copy.post('/logout-all')).status).toBe(200);
      await expectSignedOut(socket, 'session_revoked');
      expect(await liveRows(t, 'alice')).toBe(0);
    });

    it('stress: 20 rounds of a regeneration and a revocation at once always close the socket', async () => {
      for (let round = 0; round < 20; round++) {
        const userId = `user-${round}`;
        const browser = await signIn(t, userId);
        const socket = await openAccount(t, browser);
        const copy = copyOf(t, browser);
        await Promise.all([browser.post('/elevate'), copy.post('/logout-all')]);
        const closed = await socket.closeWithin(CLOSE_BOUND_MS);
        expect(closed).toEqual({ code: SESSION_CLOSE_CODE, reason: expect.any(String) });
        expect(await liveRows(t, userId)).toBe(0);
      }
    });
  });
});
