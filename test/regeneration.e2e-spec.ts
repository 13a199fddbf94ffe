import request from 'supertest';
import { SessionEvent, SessionModuleOptions } from 'nest-session-security';
import { ADAPTERS, startApp, T0, TestApp, useTestApp } from './support/test-app';
import {
  Browser,
  COOKIE,
  countRows,
  emptySessions,
  rowFor,
  sessionCookies,
} from './support/http-client';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;

function withCookie(test: request.Test, token: string): request.Test {
  return test.set('Cookie', `${COOKIE}=${token}`);
}

async function activeRows(t: TestApp, userId?: string): Promise<number> {
  const rows = await t.dataSource.query(
    `SELECT count(*)::int AS n FROM "session" WHERE obsoleted_at IS NULL AND revoked_at IS NULL ${userId ? 'AND user_id = $1' : ''}`,
    userId ? [userId] : [],
  );
  return rows[0].n;
}

function eventsOf<T extends SessionEvent['type']>(t: TestApp, type: T) {
  return t.events.filter(
    (event): event is Extract<SessionEvent, { type: T }> => event.type === type,
  );
}

describe.each(ADAPTERS)('regeneration (%s)', (adapter) => {
  const t = useTestApp(adapter);

  describe('R2 new ID at login and privilege change', () => {
    it('R2 login replaces the pre-login ID; the old one is refused after the grace period', async () => {
      const browser = new Browser(t.url);
      await browser.post('/public/data', { cart: ['x'] });
      const before = browser.token!;
      await browser.post('/login', { userId: 'u1' });
      expect(browser.token).not.toBe(before);
      t.clock.advance(61 * SECOND);
      const late = await withCookie(request(t.url).get('/private'), before);
      expect(late.status).toBe(401);
      expect(late.body.code).toBe('session_obsolete');
    });

    it('R2 a privilege change gives a new ID with the same user, handle and data', async () => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1', set: { theme: 'dark' } });
      const before = browser.token!;
      const handle = (await rowFor(t.dataSource, before))?.handle;
      const elevated = await browser.post('/elevate');
      expect(elevated.status).toBe(200);
      expect(browser.token).not.toBe(before);
      const row = await rowFor(t.dataSource, browser.token!);
      expect(row).toMatchObject({ user_id: 'u1', handle, data: { theme: 'dark' } });
      const old = await rowFor(t.dataSource, before);
      expect(old?.obsoleted_at?.toISOString()).toBe(T0.toISOString());
      expect(old?.successor).toBeInstanceOf(Buffer);
      expect(old?.successor?.toString('latin1')).not.toContain(browser.token);
    });

    it('R2 re-authentication of the same user keeps the handle and renews authenticated_at', async () => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      const first = await rowFor(t.dataSource, browser.token!);
      t.clock.advance(10 * MINUTE);
      await browser.post('/login', { userId: 'u1' });
      const second = await rowFor(t.dataSource, browser.token!);
      expect(second?.handle).toBe(first?.handle);
      expect(second?.authenticated_at?.getTime()).toBe(T0.getTime() + 10 * MINUTE);
    });
  });

  describe('R3 grace period', () => {
    it('R3 within the grace period the old ID is served as its successor and the new cookie is sent again', async () => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      const old = browser.token!;
      await browser.post('/elevate');
      const successor = browser.token!;
      t.clock.advance(59 * SECOND);
      const lost = await withCookie(request(t.url).get('/private'), old);
      expect(lost.status).toBe(200);
      expect(lost.body.userId).toBe('u1');
      const cookies = sessionCookies(lost);
      expect(cookies).toHaveLength(1);
      expect(cookies[0].value).toBe(successor);
    });

    it('R3 a write with the old ID within the grace period lands on the successor', async () => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      const old = browser.token!;
      await browser.post('/elevate');
      const written = await withCookie(request(t.url).post('/private/data'), old).send({ k: 'v' });
      expect(written.status).toBe(200);
      expect((await rowFor(t.dataSource, browser.token!))?.data).toEqual({ k: 'v' });
      expect((await rowFor(t.dataSource, old))?.data).toEqual({});
    });

    it('R3 ten parallel requests with the old ID at the moment of rotation: all succeed, one successor', async () => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      const old = browser.token!;
      t.clock.advance(16 * MINUTE);
      const pending = Array.from({ length: 10 }, () =>
        withCookie(request(t.url).get('/private/gated'), old).then((response) => response),
      );
      await t.gate.arrived(10);
      t.gate.open();
      const responses = await Promise.all(pending);
      expect(responses.map((response) => response.status)).toEqual(Array(10).fill(200));
      const issued = new Set(
        responses.flatMap((response) => sessionCookies(response).map((c) => c.value)),
      );
      expect(issued.size).toBe(1);
      expect(issued.has(old)).toBe(false);
      expect(await activeRows(t, 'u1')).toBe(1);
      expect(await countRows(t.dataSource)).toBe(2);
      expect(eventsOf(t, 'session.rotated')).toHaveLength(1);
    });

    it('R21 writes with the pre-login ID racing a login reach nothing of it: 409 session_busy, their cookie kept, no third ID', async () => {
      const browser = new Browser(t.url);
      await browser.post('/public/data', { cart: ['x'] });
      const old = browser.token!;
      const login = withCookie(request(t.url).post('/login?gate=1'), old)
        .send({ userId: 'u1' })
        .then((response) => response);
      const writes = Array.from({ length: 9 }, () =>
        withCookie(request(t.url).post('/public/data?gate=1'), old)
          .send({ seen: true })
          .then((response) => response),
      );
      await t.gate.arrived(10);
      t.gate.open();
      const [loggedIn, ...others] = await Promise.all([login, ...writes]);
      expect(loggedIn.status).toBe(200);
      const successor = sessionCookies(loggedIn)[0].value;
      for (const response of others) {
        // Each write either landed on the anonymous session before the login retired it (the
        // login then carried it over) or was refused; none got or cleared a cookie.
        expect([200, 409]).toContain(response.status);
        if (response.status === 409) expect(response.body.code).toBe('session_busy');
        expect(sessionCookies(response)).toEqual([]);
      }
      const row = await rowFor(t.dataSource, successor);
      expect(row?.user_id).toBe('u1');
      expect(await activeRows(t)).toBe(1);
      const landed = others.some((response) => response.status === 200);
      expect(row?.data).toEqual(landed ? { cart: ['x'], seen: true } : { cart: ['x'] });
    });

    it('R18 two concurrent privilege changes end with exactly one successor', async () => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      const old = browser.token!;
      const both = Promise.all([
        withCookie(request(t.url).post('/elevate?gate=1'), old).then((response) => response),
        withCookie(request(t.url).post('/elevate?gate=1'), old).then((response) => response),
      ]);
      await t.gate.arrived(2);
      t.gate.open();
      const responses = await both;
      expect(responses.map((response) => response.status)).toEqual([200, 200]);
      const tokens = new Set(responses.map((response) => sessionCookies(response)[0].value));
      expect(tokens.size).toBe(1);
      expect(await activeRows(t, 'u1')).toBe(1);
      expect(await countRows(t.dataSource)).toBe(2);
    });
  });

  describe('R3 after the grace period', () => {
    it('R3 the obsolete ID gets 401, its cookie cleared, every session of the user revoked, and an event with the evidence', async () => {
      const laptop = new Browser(t.url);
      await laptop.post('/login', { userId: 'u1' });
      const stolen = laptop.token!;
      await laptop.post('/elevate');
      const phone = new Browser(t.url);
      await phone.post('/login', { userId: 'u1' });
      const bystander = new Browser(t.url);
      await bystander.post('/login', { userId: 'u2' });
      t.clock.advance(61 * SECOND);

      const attack = await withCookie(request(t.url).get('/private'), stolen).set(
        'User-Agent',
        'thief/1.0',
      );
      expect(attack.status).toBe(401);
      expect(attack.body.code).toBe('session_obsolete');
      expect(sessionCookies(attack)[0].attributes['max-age']).toBe('0');
      expect((await laptop.get('/private')).status).toBe(401);
      expect((await phone.get('/private')).status).toBe(401);
      expect((await bystander.get('/private')).status).toBe(200);
      expect(await activeRows(t, 'u1')).toBe(0);

      const [event] = eventsOf(t, 'session.obsolete_access');
      expect(event).toMatchObject({
        userId: 'u1',
        response: 'revoke-all',
        revoked: 2,
        request: { userAgent: 'thief/1.0' },
        obsolete: { userId: 'u1', obsoletedAt: new Date(T0) },
      });
      expect(event.request.ip).toMatch(/127\.0\.0\.1/);
      expect(event.userSessions.map((session) => session.handle)).toEqual(
        expect.arrayContaining([event.obsolete.handle]),
      );
      expect(event.userSessions.length).toBeGreaterThanOrEqual(3);
      const serialized = JSON.stringify(event);
      for (const token of [stolen, laptop.token, phone.token]) {
        if (token) expect(serialized).not.toContain(token);
      }
    });

    it('R3 an obsolete pre-login session counts for the user of its successor (fixation)', async () => {
      const victim = new Browser(t.url);
      await victim.post('/public/data', { cart: ['x'] });
      const fixated = victim.token!;
      await victim.post('/login', { userId: 'victim' });
      t.clock.advance(2 * MINUTE);
      const attack = await withCookie(request(t.url).get('/public'), fixated);
      expect(attack.status).toBe(200);
      expect(attack.body.userId).toBeNull();
      expect((await victim.get('/private')).status).toBe(401);
      expect(eventsOf(t, 'session.obsolete_access')[0]).toMatchObject({
        userId: 'victim',
        revoked: 1,
      });
    });
  });

  describe('rotation policy', () => {
    it('R9 rotation is due after the interval and not before, and keeps handle and deadlines', async () => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      const first = browser.token!;
      const original = await rowFor(t.dataSource, first);
      t.clock.advance(15 * MINUTE - SECOND);
      const early = await browser.get('/private');
      expect(sessionCookies(early)).toHaveLength(0);
      t.clock.advance(SECOND);
      const due = await browser.get('/private');
      expect(sessionCookies(due)).toHaveLength(1);
      expect(browser.token).not.toBe(first);
      const rotated = await rowFor(t.dataSource, browser.token!);
      expect(rotated?.handle).toBe(original?.handle);
      expect(rotated?.created_at).toEqual(original?.created_at);
      expect(rotated?.authenticated_at).toEqual(original?.authenticated_at);
      expect(rotated?.rotated_at.getTime()).toBe(T0.getTime() + 15 * MINUTE);
      expect(eventsOf(t, 'session.rotated')[0]).toMatchObject({ reason: 'interval' });
    });
  });

  describe('events', () => {
    it('R17 every transition emits its event and no event carries a raw token', async () => {
      const tokens: string[] = [];
      const browser = new Browser(t.url);
      const keep = () => browser.token && tokens.push(browser.token);
      await browser.post('/public/data', { a: 1 });
      keep();
      await browser.post('/login', { userId: 'u1' });
      keep();
      await browser.post('/elevate');
      keep();
      t.clock.advance(15 * MINUTE);
      await browser.get('/private');
      keep();
      await browser.post('/logout');
      const idle = new Browser(t.url);
      await idle.post('/login', { userId: 'u2' });
      tokens.push(idle.token!);
      t.clock.advance(31 * MINUTE);
      await idle.get('/private');
      const other = new Browser(t.url);
      await other.post('/login', { userId: 'u3' });
      tokens.push(other.token!);
      await other.post('/logout-all');
      await request(t.url).get('/public').set('Cookie', `${COOKIE}=not-a-token`);
      await request(t.url)
        .get('/public')
        .set('Cookie', `${COOKIE}=${'A'.repeat(42)}E`);

      const types = t.events.map((event) => event.type);
      expect(types).toEqual(
        expect.arrayContaining([
          'session.created',
          'session.authenticated',
          'session.regenerated',
          'session.rotated',
          'session.logged_out',
          'session.expired',
          'session.logged_out_all',
          'session.malformed_cookie',
          'session.unknown_id',
        ]),
      );
      expect(eventsOf(t, 'session.expired')[0]).toMatchObject({
        reason: 'idle',
        session: { userId: 'u2' },
      });
      const serialized = JSON.stringify(t.events);
      for (const token of tokens) expect(serialized).not.toContain(token);
    });
  });
});

describe.each(ADAPTERS)('regeneration options (%s)', (adapter) => {
  async function withApp(options: SessionModuleOptions, run: (t: TestApp) => Promise<void>) {
    const t = await startApp(adapter, { options });
    try {
      await emptySessions(t.dataSource);
      await run(t);
    } finally {
      await t.close();
    }
  }

  it("R3 onObsoleteAccess 'deny' refuses the obsolete ID but leaves the user's sessions", async () => {
    await withApp({ onObsoleteAccess: 'deny' }, async (t) => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      const old = browser.token!;
      await browser.post('/elevate');
      t.clock.advance(61 * SECOND);
      const attack = await withCookie(request(t.url).get('/private'), old);
      expect(attack.status).toBe(401);
      expect(attack.body.code).toBe('session_obsolete');
      expect((await browser.get('/private')).status).toBe(200);
      expect(eventsOf(t, 'session.obsolete_access')[0]).toMatchObject({
        response: 'deny',
        revoked: 0,
      });
    });
  });

  it('rotation off keeps the ID stable across writes and hours of activity', async () => {
    await withApp({ rotationInterval: false }, async (t) => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      const token = browser.token;
      for (let i = 0; i < 20; i++) {
        t.clock.advance(20 * MINUTE);
        const response = await browser.post('/private/data', { i });
        expect(response.status).toBe(200);
        expect(sessionCookies(response)).toHaveLength(0);
      }
      expect(browser.token).toBe(token);
      expect(await countRows(t.dataSource)).toBe(1);
    });
  });

  it('regenerateOnWrite on: every write gets a new ID, reads keep it', async () => {
    await withApp({ regenerateOnWrite: true }, async (t) => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      const first = browser.token;
      await browser.get('/private');
      expect(browser.token).toBe(first);
      await browser.post('/private/data', { a: 1 });
      const second = browser.token;
      expect(second).not.toBe(first);
      await browser.post('/private/data', { b: 2 });
      expect(browser.token).not.toBe(second);
      expect((await rowFor(t.dataSource, browser.token!))?.data).toEqual({ a: 1, b: 2 });
      expect(eventsOf(t, 'session.rotated').map((event) => event.reason)).toEqual([
        'write',
        'write',
      ]);
    });
  });

  it('regenerateOnWrite off (default): writes keep the ID', async () => {
    await withApp({}, async (t) => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      const first = browser.token;
      await browser.post('/private/data', { a: 1 });
      await browser.post('/private/data', { b: 2 });
      expect(browser.token).toBe(first);
      expect(eventsOf(t, 'session.rotated')).toHaveLength(0);
    });
  });

  it('a longer grace period (mobile users) keeps serving the old ID for that long', async () => {
    await withApp({ obsoleteGracePeriod: '5m' }, async (t) => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      const old = browser.token!;
      await browser.post('/elevate');
      t.clock.advance(5 * MINUTE - SECOND);
      expect((await withCookie(request(t.url).get('/private'), old)).status).toBe(200);
      t.clock.advance(2 * SECOND);
      expect((await withCookie(request(t.url).get('/private'), old)).status).toBe(401);
    });
  });
});
