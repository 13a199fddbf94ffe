import request from 'supertest';
import { SessionGarbageCollector, SessionModuleOptions } from 'nest-session-security';
import { ADAPTERS, startApp, T0, TestApp, useTestApp } from './support/test-app';
import { Browser, COOKIE, countRows, emptySessions, rowFor } from './support/http-client';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;

const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
];

/** Signs `userId` in from a client with its own User-Agent; returns its token. */
async function signIn(t: TestApp, userId: string, agent = AGENTS[0]): Promise<string> {
  const response = await request(t.url).post('/login').set('User-Agent', agent).send({ userId });
  const cookie = (response.headers['set-cookie'] as unknown as string[]).find((line) =>
    line.startsWith(`${COOKIE}=`),
  );
  return cookie!.slice(COOKIE.length + 1).split(';')[0];
}

function as(t: TestApp, token: string) {
  const withCookie = (test: request.Test) => test.set('Cookie', `${COOKIE}=${token}`);
  return {
    get: (path: string) => withCookie(request(t.url).get(path)),
    post: (path: string) => withCookie(request(t.url).post(path)),
    delete: (path: string) => withCookie(request(t.url).delete(path)),
  };
}

describe.each(ADAPTERS)('devices (%s)', (adapter) => {
  const t = useTestApp(adapter, { options: { gcInterval: false } });

  it('R11 three clients of one user: the list shows 3 entries, the current one marked, without tokens', async () => {
    const tokens: string[] = [];
    for (const agent of AGENTS) {
      tokens.push(await signIn(t, 'u1', agent));
      t.clock.advance(MINUTE);
    }
    await signIn(t, 'u2');
    const response = await as(t, tokens[0]).get('/sessions');
    expect(response.status).toBe(200);
    expect(response.body).toHaveLength(3);
    expect(response.body.map((entry: { current: boolean }) => entry.current)).toEqual([
      false,
      false,
      true,
    ]);
    expect(response.body.map((entry: { device: string }) => entry.device)).toEqual([
      'Chrome on Linux',
      'Safari on iOS',
      'Firefox on Windows',
    ]);
    for (const entry of response.body) {
      expect(Object.keys(entry).sort()).toEqual(
        [
          'authenticatedAt',
          'createdAt',
          'current',
          'device',
          'handle',
          'ip',
          'lastSeenAt',
          'userAgent',
        ].sort(),
      );
      expect(entry.ip).toMatch(/127\.0\.0\.1/);
    }
    const body = JSON.stringify(response.body);
    for (const token of tokens) expect(body).not.toContain(token);
    const hashes = await t.dataSource.query(`SELECT encode(id_hash, 'hex') AS h FROM "session"`);
    for (const { h } of hashes) expect(body).not.toContain(h);
  });

  it('R11 the list keeps one entry per login across rotations', async () => {
    const browser = new Browser(t.url);
    await browser.post('/login', { userId: 'u1' });
    const before = (await browser.get('/sessions')).body;
    t.clock.advance(16 * MINUTE);
    await browser.get('/private');
    const after = (await browser.get('/sessions')).body;
    expect(after).toHaveLength(1);
    expect(after[0].handle).toBe(before[0].handle);
  });

  it('R11 revoking one session: its next request gets 401 session_revoked and a clearing cookie', async () => {
    const laptop = await signIn(t, 'u1', AGENTS[0]);
    const phone = await signIn(t, 'u1', AGENTS[1]);
    const list = (await as(t, laptop).get('/sessions')).body;
    const phoneHandle = list.find((entry: { current: boolean }) => !entry.current).handle;
    const revoked = await as(t, laptop).delete(`/sessions/${phoneHandle}`);
    expect(revoked.status).toBe(204);
    const next = await as(t, phone).get('/private');
    expect(next.status).toBe(401);
    expect(next.body.code).toBe('session_revoked');
    expect(next.headers['set-cookie'][0]).toMatch(/^__Host-sid=;.*Max-Age=0/);
    expect((await as(t, laptop).get('/private')).status).toBe(200);
    expect((await rowFor(t.dataSource, phone))?.data).toEqual({});
    expect(t.events.find((event) => event.type === 'session.revoked')).toMatchObject({
      reason: 'device',
      userId: 'u1',
    });
  });

  it("revoking another user's handle is refused with 404 and changes nothing", async () => {
    const mine = await signIn(t, 'u1');
    const theirs = await signIn(t, 'u2');
    const theirHandle = (await as(t, theirs).get('/sessions')).body[0].handle;
    const before = await t.dataSource.query(`SELECT * FROM "session" ORDER BY handle`);
    const response = await as(t, mine).delete(`/sessions/${theirHandle}`);
    expect(response.status).toBe(404);
    expect(await t.dataSource.query(`SELECT * FROM "session" ORDER BY handle`)).toEqual(before);
    expect((await as(t, theirs).get('/private')).status).toBe(200);
  });

  it('R11 revoke-others leaves only the caller', async () => {
    const tokens = [await signIn(t, 'u1'), await signIn(t, 'u1'), await signIn(t, 'u1')];
    t.statements.reset();
    const response = await as(t, tokens[0]).post('/sessions/revoke-others');
    expect(response.body).toEqual({ ended: 2 });
    expect((await as(t, tokens[0]).get('/private')).status).toBe(200);
    for (const token of tokens.slice(1)) {
      expect((await as(t, token).get('/private')).body.code).toBe('session_revoked');
    }
  });

  it('R11 logout-all ends every session, the caller included, and the others get session_revoked', async () => {
    const tokens = [await signIn(t, 'u1'), await signIn(t, 'u1'), await signIn(t, 'u1')];
    const response = await as(t, tokens[0]).post('/logout-all');
    expect(response.body).toEqual({ ended: 3 });
    expect(response.headers['set-cookie'][0]).toMatch(/Max-Age=0/);
    for (const token of tokens) {
      const next = await as(t, token).get('/private');
      expect(next.status).toBe(401);
      expect(next.body.code).toBe('session_revoked');
    }
  });

  describe('garbage collection', () => {
    it('removes expired rows and obsolete or revoked rows past retention, and nothing else', async () => {
      const live = await signIn(t, 'live');
      const idle = await signIn(t, 'idle');
      const rotating = new Browser(t.url);
      await rotating.post('/login', { userId: 'rotating' });
      const oldToken = rotating.token!;
      t.clock.advance(16 * MINUTE);
      await as(t, live).get('/private');
      await rotating.get('/private');
      expect(rotating.token).not.toBe(oldToken);
      t.clock.advance(16 * MINUTE);
      await as(t, live).get('/private');
      const gc = t.app.get(SessionGarbageCollector);

      expect(await gc.collect()).toBe(1);
      expect(await rowFor(t.dataSource, idle)).toBeUndefined();
      expect((await rowFor(t.dataSource, oldToken))?.obsoleted_at).not.toBeNull();
      expect(await rowFor(t.dataSource, live)).toBeDefined();
      expect(await rowFor(t.dataSource, rotating.token!)).toBeDefined();

      t.clock.advance(DAY);
      const fresh = await signIn(t, 'fresh');
      const revoked = await signIn(t, 'gone');
      await as(t, revoked).post('/logout-all');
      // live and rotating: each an obsolete row past retention plus an idle-expired successor
      expect(await gc.collect()).toBe(4);
      expect(await rowFor(t.dataSource, oldToken)).toBeUndefined();
      expect(await rowFor(t.dataSource, live)).toBeUndefined();
      expect((await rowFor(t.dataSource, revoked))?.revoked_at).not.toBeNull();
      expect(await rowFor(t.dataSource, fresh)).toBeDefined();
      expect(await countRows(t.dataSource)).toBe(2);
    });

    it('two collections in parallel neither fail nor delete a row twice', async () => {
      await t.dataSource.query(
        `INSERT INTO "session" (id_hash, handle, data, created_at, last_seen_at, rotated_at, expires_at)
         SELECT sha256(convert_to('gc-' || i, 'UTF8')), 'h' || i, '{}', $1, $1, $1, $1
         FROM generate_series(1, 5000) AS i`,
        [new Date(T0.getTime() - DAY)],
      );
      const keep = await signIn(t, 'keep');
      const gc = t.app.get(SessionGarbageCollector);
      const [a, b] = await Promise.all([gc.collect(), gc.collect()]);
      expect(a + b).toBe(5000);
      expect(await countRows(t.dataSource)).toBe(1);
      expect(await rowFor(t.dataSource, keep)).toBeDefined();
    });
  });
});

describe.each(ADAPTERS)('session limits (%s)', (adapter) => {
  async function withApp(options: SessionModuleOptions, run: (t: TestApp) => Promise<void>) {
    const t = await startApp(adapter, { options: { gcInterval: false, ...options } });
    try {
      await emptySessions(t.dataSource);
      await run(t);
    } finally {
      await t.close();
    }
  }

  it("R13 with max 2 and 'refuse', a third login is refused with 403 and the two stay", async () => {
    await withApp({ maxSessionsPerUser: 2, sessionLimitPolicy: 'refuse' }, async (t) => {
      const first = await signIn(t, 'u1');
      const second = await signIn(t, 'u1');
      const third = await request(t.url).post('/login').send({ userId: 'u1' });
      expect(third.status).toBe(403);
      expect(third.body.code).toBe('session_limit_reached');
      expect((await as(t, first).get('/private')).status).toBe(200);
      expect((await as(t, second).get('/private')).status).toBe(200);
      expect((await signIn(t, 'u2')).length).toBe(43);
    });
  });

  it("R13 with max 2 and 'evict-least-recently-used', a third login evicts the least recently used", async () => {
    await withApp({ maxSessionsPerUser: 2 }, async (t) => {
      const first = await signIn(t, 'u1');
      t.clock.advance(MINUTE);
      const second = await signIn(t, 'u1');
      t.clock.advance(2 * MINUTE);
      await as(t, first).get('/private');
      t.clock.advance(MINUTE);
      const third = await signIn(t, 'u1');
      expect((await as(t, second).get('/private')).body.code).toBe('session_revoked');
      expect((await as(t, first).get('/private')).status).toBe(200);
      expect((await as(t, third).get('/private')).status).toBe(200);
      expect(t.events.find((event) => event.type === 'session.revoked')).toMatchObject({
        reason: 'limit',
      });
    });
  });
});

describe.each(ADAPTERS)('two application instances on one database (%s)', (adapter) => {
  let one: TestApp;
  let two: TestApp;

  beforeAll(async () => {
    one = await startApp(adapter, { options: { gcInterval: false } });
    two = await startApp(adapter, { options: { gcInterval: false } });
  });
  afterAll(async () => {
    await one.close();
    await two.close();
  });
  beforeEach(() => emptySessions(one.dataSource));

  it('log in on one, use and revoke on the other, sign out everywhere on one and the other refuses', async () => {
    const laptop = await signIn(one, 'u1');
    expect((await as(two, laptop).get('/private')).body.userId).toBe('u1');
    const phone = await signIn(two, 'u1');
    const handles = (await as(two, phone).get('/sessions')).body;
    expect(handles).toHaveLength(2);
    const laptopHandle = handles.find((entry: { current: boolean }) => !entry.current).handle;
    expect((await as(two, phone).delete(`/sessions/${laptopHandle}`)).status).toBe(204);
    expect((await as(one, laptop).get('/private')).body.code).toBe('session_revoked');

    const tablet = await signIn(two, 'u1');
    expect((await as(one, phone).post('/logout-all')).status).toBe(200);
    expect((await as(two, tablet).get('/private')).body.code).toBe('session_revoked');
    expect((await as(two, phone).get('/private')).status).toBe(401);
  });
});
