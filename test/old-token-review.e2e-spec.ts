/**
 * Old tokens after the security review of issue 11, tested from the attacker's side.
 *
 * What the suite guarantees:
 * - R21: a copied session cookie is forwarded to the successor only until the victim presents
 *   it (plus the leeway), even when the presenting request regenerates again (also with
 *   `regenerateOnWrite`); a forwarded request never counts as presenting.
 * - R22: a restore from a stolen remember-me cookie that validated before "sign out
 *   everywhere", a password change or signing out its device does not outlive them;
 *   concurrent logins under `maxSessionsPerUser` finish with at most the limit live (and, on
 *   the embedded PostgreSQL, the lock statement goes with the repository's statement options).
 * - R14: a remembered browser reopening with two tabs raises no restored_while_live alarm;
 *   logout-all ends a thief's restored session and its token; a forged validator deletes nothing.
 * - R3: the attack response retires a planted pre-login ID, so it cannot fire twice; an
 *   obsolete-within-grace duplicate cookie next to the live one raises no alarm.
 */
import request from 'supertest';
import { Client as PgClient } from 'pg';
import { hashToken } from 'nest-session-security';
import { ADAPTERS, clockAt, eventsOf, TestApp, useTestApp } from './support/test-app';
import {
  COOKIE,
  issuedCookies,
  liveSessions,
  parseSetCookies,
  REMEMBER_COOKIE,
  rowFor,
} from './support/http-client';
import { testDatabaseUrl, usesEmbeddedPostgres } from './support/database-url';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;

const VICTIM_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const PHONE_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1';
const THIEF_UA = 'thief-tool/6.6';

/** The embedded PostgreSQL serves every connection from one backend: no row lock can wait there. */
const gated = usesEmbeddedPostgres() ? it.skip : it;

/**
 * A browser (or an attacker's tool) with its own user agent that keeps the session cookie and
 * the remember-me cookie as a browser does: set on Set-Cookie, dropped on Max-Age=0.
 */
class Device {
  session: string | null = null;
  remember: string | null = null;

  constructor(
    readonly t: TestApp,
    readonly agent: string,
  ) {}

  cookieHeader(session = this.session, remember = this.remember): string {
    const parts: string[] = [];
    if (session) parts.push(`${COOKIE}=${session}`);
    if (remember) parts.push(`${REMEMBER_COOKIE}=${remember}`);
    return parts.join('; ');
  }

  track(response: request.Response): request.Response {
    for (const cookie of parseSetCookies(response.headers['set-cookie'])) {
      const value = cookie.attributes['max-age'] === '0' ? null : cookie.value;
      if (cookie.name === COOKIE) this.session = value;
      if (cookie.name === REMEMBER_COOKIE) this.remember = value;
    }
    return response;
  }

  build(method: 'get' | 'post' | 'delete', path: string, cookies = this.cookieHeader()) {
    const test = request(this.t.url)[method](path).set('User-Agent', this.agent);
    return cookies ? test.set('Cookie', cookies) : test;
  }

  async get(path: string): Promise<request.Response> {
    return this.track(await this.build('get', path));
  }

  async post(path: string, body: object = {}): Promise<request.Response> {
    return this.track(await this.build('post', path).send(body));
  }

  async delete(path: string): Promise<request.Response> {
    return this.track(await this.build('delete', path));
  }

  /** Sends a kept copy of cookies and adopts nothing from the response. */
  replay(path: string, session: string | null, remember: string | null = null) {
    return this.build('get', path, this.cookieHeader(session, remember)).then((r) => r);
  }

  async signIn(userId: string, rememberMe = false): Promise<void> {
    expect((await this.post('/login', { userId, rememberMe })).status).toBe(200);
    expect((await this.get('/private')).status).toBe(200);
  }

  closeBrowser(): void {
    this.session = null;
  }
}

/** The victim signs in as `u1` and changes privilege: returns the replaced ID and its successor. */
async function signInAndElevate(t: TestApp): Promise<{ victim: Device; old: string; s1: string }> {
  const victim = new Device(t, VICTIM_UA);
  await victim.signIn('u1');
  const old = victim.session!;
  expect((await victim.post('/elevate')).status).toBe(200);
  return { victim, old, s1: victim.session! };
}

/** How many of the user's sessions can still be used (neither replaced nor revoked). */
async function liveOf(t: TestApp, userId: string): Promise<number> {
  return (await liveSessions(t.dataSource, userId)).length;
}

async function rememberTokens(t: TestApp, userId: string): Promise<number> {
  const rows = await t.dataSource.query(
    `SELECT count(*)::int AS n FROM "remember_me_token" WHERE user_id = $1`,
    [userId],
  );
  return rows[0].n;
}

function clearsSession(response: request.Response): boolean {
  return parseSetCookies(response.headers['set-cookie']).some(
    (c) => c.name === COOKIE && c.attributes['max-age'] === '0',
  );
}

/** Backends of the test database waiting on a lock. */
async function lockWaiters(t: TestApp): Promise<number> {
  const rows = await t.dataSource.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity
     WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
  );
  return rows[0].n;
}

async function waitFor(what: string, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10 * SECOND;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * The thief (an anonymous session of its own plus the victim's copied remember-me cookie)
 * restores while `revoke` runs: the test holds a row lock on the thief's anonymous row, so the
 * restore has validated and rotated the remember-me token and then waits to write its session;
 * `revoke` runs to completion; the lock is released. Returns the restore's response (tracked).
 */
async function restoreRacing(
  t: TestApp,
  victim: Device,
  thief: Device,
  revoke: () => Promise<void>,
): Promise<request.Response> {
  expect((await thief.post('/public/data', { x: 1 })).status).toBe(200);
  const anonymous = thief.session!;
  thief.remember = victim.remember; // copied
  const holder = new PgClient({ connectionString: testDatabaseUrl() });
  await holder.connect();
  let restoring: Promise<request.Response> | undefined;
  try {
    await holder.query('BEGIN');
    const locked = await holder.query(`SELECT 1 FROM "session" WHERE id_hash = $1 FOR UPDATE`, [
      hashToken(anonymous),
    ]);
    expect(locked.rowCount).toBe(1);
    let done: request.Response | null = null;
    restoring = thief
      .build('get', '/private')
      .then((r) => r)
      .then((r) => (done = r));
    await waitFor('the restore to wait on its anonymous row', async () => {
      if (done) throw new Error(`the restore finished first: ${done.status} ${done.text}`);
      return (await lockWaiters(t)) >= 1;
    });
    await revoke();
  } finally {
    await holder.query('ROLLBACK').catch(() => undefined);
    await holder.end();
  }
  return thief.track(await restoring!);
}

/**
 * What a raced restore left: its status, the thief's next request (null when the restore left
 * it no session cookie) and the user's sessions that can still be used.
 */
async function afterRace(t: TestApp, restored: request.Response, thief: Device) {
  return {
    restoredStatus: restored.status,
    thiefLater: thief.session ? (await thief.get('/private')).status : null,
    liveSessionsOfU1: await liveOf(t, 'u1'),
  };
}

describe.each(ADAPTERS)('old tokens after review (%s)', (adapter) => {
  describe('default options', () => {
    const t = useTestApp(adapter, { options: { gcInterval: false } });

    it('R21 a copied cookie is not forwarded two hops after the victim presented the successor (presentation recorded even when that request regenerates)', async () => {
      const victim = new Device(t, VICTIM_UA);
      await victim.signIn('victim');
      const copied = victim.session!; // the thief copies the cookie (presented, in use)

      // Privilege change: copied -> S1. The victim's very next request presents S1 and
      // changes privilege again: S1 -> S2. Presenting S1 is recorded all the same.
      expect((await victim.post('/elevate')).status).toBe(200);
      const s1 = victim.session!;
      t.clock.advance(1 * SECOND);
      expect((await victim.post('/elevate')).status).toBe(200);
      const s2 = victim.session!;
      expect(new Set([copied, s1, s2]).size).toBe(3);

      // 20 s after the victim presented S1 (leeway 5 s): S1 is in use, so the copied ID gets
      // the attack response and is not forwarded down the chain to the live S2.
      t.clock.advance(20 * SECOND);
      const thief = new Device(t, THIEF_UA);
      const replay = await thief.replay('/private', copied);
      expect({
        status: replay.status,
        code: replay.body.code,
        handedLiveSession: issuedCookies(replay).includes(s2),
      }).toEqual({ status: 401, code: 'session_obsolete', handedLiveSession: false });
    });

    gated.each([
      { action: '"sign out everywhere"', path: '/logout-all', live: 0 },
      // Every other session and token ends; the victim's own session stays.
      { action: 'a password change', path: '/password', live: 1 },
    ])(
      'R22 a restore from a stolen remember-me cookie that validated before $action does not outlive it',
      async ({ path, live }) => {
        const victim = new Device(t, VICTIM_UA);
        await victim.signIn('u1', true);
        const thief = new Device(t, THIEF_UA);
        const restored = await restoreRacing(t, victim, thief, async () => {
          expect((await victim.post(path)).status).toBe(200);
        });
        expect(await afterRace(t, restored, thief)).toEqual({
          restoredStatus: 401,
          thiefLater: null,
          liveSessionsOfU1: live,
        });
      },
    );

    gated(
      "R22 the same restore race does not outlive signing out the thief's device from the device list (its sessions and its token end together)",
      async () => {
        const victim = new Device(t, VICTIM_UA);
        await victim.signIn('u1', true);
        const thief = new Device(t, THIEF_UA);
        thief.remember = victim.remember;
        expect((await thief.get('/private')).status).toBe(200); // the thief's restored session
        const thiefHandle = (await thief.get('/private')).body.handle as string;
        const again = new Device(t, THIEF_UA);
        const restored = await restoreRacing(t, thief, again, async () => {
          expect((await victim.delete(`/sessions/${thiefHandle}`)).status).toBe(204);
        });
        expect(await afterRace(t, restored, again)).toEqual({
          restoredStatus: 401,
          thiefLater: null,
          liveSessionsOfU1: 1, // the victim's own only
        });
      },
    );

    it('R14 a remembered browser reopening with two tabs at once raises no restored_while_live alarm', async () => {
      const laptop = new Device(t, VICTIM_UA);
      await laptop.signIn('u1', true);
      clockAt(t, 31 * MINUTE); // the laptop's session idled out; the browser was closed
      laptop.closeBrowser();
      const remembered = laptop.remember!;
      // Two tabs restored at start-up, both sent with the same remember-me cookie and no
      // session cookie; the second reaches the server after the first restore committed.
      const first = laptop.track(await laptop.replay('/private', null, remembered));
      const second = laptop.track(await laptop.replay('/private', null, remembered));
      expect([first.status, second.status]).toEqual([200, 200]);
      expect(eventsOf(t, 'remember_me.restored_while_live')).toHaveLength(0);
    });

    it('R3 the attack response retires a planted pre-login ID: replayed again after the victim signs in anew, it ends nothing and raises no second alarm', async () => {
      const attacker = new Device(t, THIEF_UA);
      await attacker.post('/public/data', { visited: true });
      const planted = attacker.session!;
      const victim = new Device(t, VICTIM_UA);
      victim.session = planted;
      await victim.signIn('victim');
      clockAt(t, 2 * MINUTE);
      const first = await attacker.replay('/private', planted);
      expect(first.status).toBe(401);
      expect(first.body.code).toBe('session_obsolete');
      expect((await victim.get('/private')).status).toBe(401); // as designed: revoked

      // The victim signs in again on a clean browser, nothing to do with the planted ID.
      const fresh = new Device(t, VICTIM_UA);
      await fresh.signIn('victim', true);
      clockAt(t, 3 * MINUTE);
      const second = await attacker.replay('/private', planted);
      expect(second.status).toBe(401);
      expect({
        freshSession: (await fresh.get('/private')).status,
        rememberMeTokens: await rememberTokens(t, 'victim'),
        alarms: eventsOf(t, 'session.obsolete_access').length,
      }).toEqual({ freshSession: 200, rememberMeTokens: 1, alarms: 1 });
    });

    it('R21 a thief forwarded to the live successor is caught once the victim presents it (after the leeway)', async () => {
      const { victim, old: copied, s1 } = await signInAndElevate(t);
      // Within the window (S1 not presented yet) the thief is forwarded: accepted by design,
      // and reported with the thief's user agent.
      const forwarded = await new Device(t, THIEF_UA).replay('/private', copied);
      expect(forwarded.status).toBe(200);
      expect(issuedCookies(forwarded)).toEqual([s1]);
      expect(eventsOf(t, 'session.obsolete_forwarded')[0]).toMatchObject({
        request: { userAgent: THIEF_UA },
      });
      // The victim presents S1 (recorded: a plain read), 6 s later the copy is an attack.
      expect((await victim.get('/private')).status).toBe(200);
      t.clock.advance(6 * SECOND);
      const late = await new Device(t, THIEF_UA).replay('/private', copied);
      expect(late.status).toBe(401);
      expect(late.body.code).toBe('session_obsolete');
      expect(await liveOf(t, 'u1')).toBe(0);
    });

    it('R21 a forwarded request does not count as presenting the successor (a thief cannot shorten or extend the window)', async () => {
      const { old: copied, s1 } = await signInAndElevate(t);
      expect((await new Device(t, THIEF_UA).replay('/private', copied)).status).toBe(200);
      expect(
        (await rowFor(t.dataSource, s1)) as unknown as { presented_at: Date | null },
      ).toMatchObject({
        presented_at: null,
      });
    });

    it('R14 logout-all of the victim ends a thief session restored earlier, and its token (no restore afterwards)', async () => {
      const victim = new Device(t, VICTIM_UA);
      await victim.signIn('u1', true);
      const thief = new Device(t, THIEF_UA);
      thief.remember = victim.remember;
      expect((await thief.get('/private')).status).toBe(200);
      expect((await victim.post('/logout-all')).status).toBe(200);
      expect((await thief.get('/private')).status).toBe(401);
      thief.closeBrowser();
      expect((await thief.get('/private')).status).toBe(401);
      expect(await liveOf(t, 'u1')).toBe(0);
    });

    it('R14 a remember-me selector with a wrong validator deletes nothing, on logout or on issue', async () => {
      const victim = new Device(t, VICTIM_UA);
      await victim.signIn('u1', true);
      const [selector] = victim.remember!.split('.');
      const forged = `${selector}.${Buffer.alloc(32, 0x5a).toString('base64url')}`;
      const attacker = new Device(t, THIEF_UA);
      await attacker.signIn('mallory');
      attacker.remember = forged;
      expect((await attacker.post('/logout')).status).toBe(204);
      // Signed in again (so no restore is attempted), "remember me" with the forged cookie held.
      attacker.remember = null;
      await attacker.signIn('mallory');
      attacker.remember = forged;
      expect((await attacker.post('/login', { userId: 'mallory', rememberMe: true })).status).toBe(
        200,
      );
      expect(await rememberTokens(t, 'u1')).toBe(1);
    });

    it('R3 duplicate cookies: a live one and an obsolete-within-grace one give the live session in either order, no alarm', async () => {
      const { victim, old, s1: live } = await signInAndElevate(t);
      for (const pair of [
        [old, live],
        [live, old],
      ]) {
        const response = await victim
          .build('get', '/private', pair.map((v) => `${COOKIE}=${v}`).join('; '))
          .then((r) => r);
        expect(response.status).toBe(200);
        expect(clearsSession(response)).toBe(false);
      }
      expect(eventsOf(t, 'session.obsolete_access')).toHaveLength(0);
    });
  });

  describe('regenerateOnWrite', () => {
    const t = useTestApp(adapter, { options: { regenerateOnWrite: true, gcInterval: false } });

    it('R21 with regenerateOnWrite a copied cookie does not follow a victim who writes twice once the successor is in use', async () => {
      const victim = new Device(t, VICTIM_UA);
      await victim.signIn('u1');
      const copied = victim.session!;
      expect((await victim.post('/private/data', { step: 1 })).status).toBe(200);
      t.clock.advance(1 * SECOND);
      expect((await victim.post('/private/data', { step: 2 })).status).toBe(200);
      const live = victim.session!;
      t.clock.advance(20 * SECOND);
      const replay = await new Device(t, THIEF_UA).replay('/private', copied);
      expect({
        status: replay.status,
        handedLiveSession: issuedCookies(replay).includes(live),
        sawData: replay.body?.data?.step === 2,
      }).toEqual({ status: 401, handedLiveSession: false, sawData: false });
    });
  });

  describe('maxSessionsPerUser: 2 (evict least recently used)', () => {
    const t = useTestApp(adapter, { options: { maxSessionsPerUser: 2, gcInterval: false } });

    (usesEmbeddedPostgres() ? it : it.skip)(
      "R22 (embedded PostgreSQL only) concurrent logins under maxSessionsPerUser all succeed: the lock statement goes with the repository's statement options",
      async () => {
        const statuses = await Promise.all(
          Array.from({ length: 12 }, (_, n) =>
            request(t.url)
              .post('/login')
              .send({ userId: `user-${n}` })
              .then((r) => r.status),
          ),
        );
        expect(statuses.filter((status) => status !== 200)).toEqual([]);
      },
    );

    // PGlite's socket server runs every connection on one backend: no real transactions there.
    gated(
      'R22 30 concurrent logins of one user (more than the pool) finish without deadlock, at most 2 live, and other users are still served',
      async () => {
        const logins = Array.from({ length: 30 }, () =>
          request(t.url)
            .post('/login')
            .send({ userId: 'busy' })
            .then((r) => r.status),
        );
        const other = new Device(t, PHONE_UA);
        const [statuses] = await Promise.all([Promise.all(logins), other.signIn('someone-else')]);
        expect(statuses.every((status) => status === 200)).toBe(true);
        expect(await liveOf(t, 'busy')).toBeLessThanOrEqual(2);
      },
    );
  });
});
