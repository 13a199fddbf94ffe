import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { hashToken } from 'nest-session-security';
import { ADAPTERS, readsFromCache, useTestApp } from './support/test-app';
import { usesEmbeddedPostgres } from './support/database-url';
import { Browser, COOKIE, countRows, rowFor, sessionCookies } from './support/http-client';

const MINUTE = 60_000;
const SECOND = 1_000;

async function inBatches<T>(
  count: number,
  size: number,
  task: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = [];
  for (let start = 0; start < count; start += size) {
    const batch = Array.from({ length: Math.min(size, count - start) }, (_, i) => task(start + i));
    results.push(...(await Promise.all(batch)));
  }
  return results;
}

describe.each(ADAPTERS)('session basics (%s)', (adapter) => {
  const t = useTestApp(adapter);

  describe('lazy creation', () => {
    it('a visitor who never writes gets no row and no cookie', async () => {
      const response = await request(t.url).get('/public');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ userId: null, handle: null, data: {} });
      expect(response.headers['set-cookie']).toBeUndefined();
      expect(t.statements.count).toBe(0);
      expect(await countRows(t.dataSource)).toBe(0);
    });

    it('a request that writes nothing (empty change) creates nothing', async () => {
      const response = await request(t.url).post('/public/data').send({});
      expect(response.status).toBe(200);
      expect(response.headers['set-cookie']).toBeUndefined();
      expect(await countRows(t.dataSource)).toBe(0);
    });

    it('the first write creates one row and sets the cookie', async () => {
      const browser = new Browser(t.url);
      const response = await browser.post('/public/data', { cart: [{ sku: 'a', qty: 1 }] });
      expect(response.status).toBe(200);
      expect(sessionCookies(response)).toHaveLength(1);
      const row = await rowFor(t.dataSource, browser.token!);
      expect(row?.data).toEqual({ cart: [{ sku: 'a', qty: 1 }] });
      expect(row?.user_id).toBeNull();
      expect(await countRows(t.dataSource)).toBe(1);
      const again = await browser.get('/public');
      expect(again.body.data).toEqual({ cart: [{ sku: 'a', qty: 1 }] });
      expect(again.headers['set-cookie']).toBeUndefined();
    });
  });

  describe('R1 strict mode', () => {
    it('R1 a well-formed ID the server never issued is not adopted and creates no row', async () => {
      const forged = randomBytes(32).toString('base64url');
      const read = await request(t.url).get('/public').set('Cookie', `${COOKIE}=${forged}`);
      expect(read.status).toBe(200);
      expect(read.body.userId).toBeNull();
      for (const cookie of sessionCookies(read)) expect(cookie.value).not.toBe(forged);

      const write = await request(t.url)
        .post('/public/data')
        .set('Cookie', `${COOKIE}=${forged}`)
        .send({ a: 1 });
      const issued = sessionCookies(write).filter((cookie) => cookie.value !== '');
      expect(issued).toHaveLength(1);
      expect(issued[0].value).not.toBe(forged);
      expect(await rowFor(t.dataSource, forged)).toBeUndefined();

      const denied = await request(t.url).get('/private').set('Cookie', `${COOKIE}=${forged}`);
      expect(denied.status).toBe(401);
      expect(denied.body.code).toBe('session_required');
    });

    it('R1 1,000 random IDs leave the row count unchanged', async () => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      const responses = await inBatches(1000, 50, () =>
        request(t.url)
          .get('/public')
          .set('Cookie', `${COOKIE}=${randomBytes(32).toString('base64url')}`),
      );
      expect(
        responses.every((response) => response.status === 200 && response.body.userId === null),
      ).toBe(true);
      expect(await countRows(t.dataSource)).toBe(1);
    });
  });

  describe('R4 token generation', () => {
    it('R4 10,000 sessions get 10,000 unique 256-bit base64url tokens with no shared prefix', async () => {
      const tokens = await inBatches(10_000, 100, async (i) => {
        const response = await request(t.url).post('/public/data').send({ n: i });
        return sessionCookies(response)[0].value;
      });
      expect(new Set(tokens).size).toBe(10_000);
      for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const firstChars = new Set(tokens.map((token) => token.slice(0, 2)));
      expect(firstChars.size).toBeGreaterThan(1000);
      expect(await countRows(t.dataSource)).toBe(10_000);
    });
  });

  describe('R5 only a hash is stored', () => {
    it('R5 the raw cookie value finds no row, its SHA-256 finds one, and no column holds it', async () => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      const token = browser.token!;
      const byRaw = await t.dataSource.query(
        `SELECT count(*)::int AS n FROM "session" WHERE id_hash = convert_to($1, 'UTF8')`,
        [token],
      );
      expect(byRaw[0].n).toBe(0);
      const bySql = await t.dataSource.query(
        `SELECT count(*)::int AS n FROM "session" WHERE id_hash = sha256(convert_to($1, 'UTF8'))`,
        [token],
      );
      expect(bySql[0].n).toBe(1);
      const anywhere = await t.dataSource.query(
        `SELECT count(*)::int AS n FROM "session" s WHERE row_to_json(s)::text LIKE '%' || $1 || '%'`,
        [token],
      );
      expect(anywhere[0].n).toBe(0);
      expect((await rowFor(t.dataSource, token))?.id_hash.equals(hashToken(token))).toBe(true);
    });
  });

  describe('R7 the ID comes from the cookie only', () => {
    it('R7 a valid ID in the query string, body or another header is ignored', async () => {
      const victim = new Browser(t.url);
      await victim.post('/login', { userId: 'victim' });
      const token = victim.token!;
      const attempts = [
        request(t.url).get(`/private?sid=${token}&${COOKIE}=${token}`),
        request(t.url).get('/private').set('Authorization', `Bearer ${token}`),
        request(t.url).get('/private').set('X-Session-Id', token),
        request(t.url).get('/private').set('Cookie2', `${COOKIE}=${token}`),
        request(t.url)
          .post('/private/data')
          .send({ sid: token, [COOKIE]: token }),
      ];
      for (const response of await Promise.all(attempts)) {
        expect(response.status).toBe(401);
        expect(response.body.code).toBe('session_required');
      }
    });

    it('R7 the raw ID never appears in response bodies or headers other than Set-Cookie', async () => {
      const browser = new Browser(t.url);
      const login = await browser.post('/login', { userId: 'u1' });
      const token = browser.token!;
      const bodies = [login, await browser.get('/private'), await browser.post('/elevate')];
      const old = token;
      await browser.post('/logout');
      bodies.push(await request(t.url).get('/private').set('Cookie', `${COOKIE}=${old}`));
      for (const response of bodies) {
        expect(JSON.stringify(response.body)).not.toContain(old);
        const { 'set-cookie': _, ...others } = response.headers;
        expect(JSON.stringify(others)).not.toContain(old);
      }
    });
  });

  describe('R8 idle timeout', () => {
    it('R8 one second before idle the request succeeds and counts as activity; one second after it is refused', async () => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      t.clock.advance(30 * MINUTE - SECOND);
      expect((await browser.get('/private')).status).toBe(200);
      t.clock.advance(30 * MINUTE - SECOND);
      expect((await browser.get('/private')).status).toBe(200);
      const token = browser.token!;
      t.clock.advance(30 * MINUTE + SECOND);
      const expired = await browser.get('/private');
      expect(expired.status).toBe(401);
      expect(expired.body.code).toBe('session_idle_expired');
      const cleared = sessionCookies(expired);
      expect(cleared).toHaveLength(1);
      expect(cleared[0].value).toBe('');
      expect(cleared[0].attributes['max-age']).toBe('0');
      expect(await rowFor(t.dataSource, token)).toBeUndefined();
    });

    it('R8 an expired session on a public route is served as anonymous and its cookie cleared', async () => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      const token = browser.token!;
      t.clock.advance(30 * MINUTE + SECOND);
      const response = await browser.get('/public');
      expect(response.status).toBe(200);
      expect(response.body.userId).toBeNull();
      expect(sessionCookies(response)[0].attributes['max-age']).toBe('0');
      expect(await rowFor(t.dataSource, token)).toBeUndefined();
    });
  });

  describe('R9 absolute timeout', () => {
    it('R9 a busy session ends one second after the absolute timeout, across rotations', async () => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      const first = browser.token;
      const step = 20 * MINUTE;
      for (let elapsed = step; elapsed < 12 * 60 * MINUTE; elapsed += step) {
        t.clock.advance(step);
        expect((await browser.get('/private')).status).toBe(200);
      }
      expect(browser.token).not.toBe(first);
      t.clock.set(new Date(Date.parse('2030-01-01T12:00:00Z') - SECOND));
      expect((await browser.get('/private')).status).toBe(200);
      t.clock.set(new Date(Date.parse('2030-01-01T12:00:00Z') + SECOND));
      const ended = await browser.get('/private');
      expect(ended.status).toBe(401);
      expect(ended.body.code).toBe('session_absolute_expired');
    });
  });

  describe('R10 logout', () => {
    it('R10 logout deletes the row, clears the cookie, and a replay gets 401', async () => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      const token = browser.token!;
      const logout = await browser.post('/logout');
      expect(logout.status).toBe(204);
      const cleared = sessionCookies(logout);
      expect(cleared).toHaveLength(1);
      expect(cleared[0].value).toBe('');
      expect(await rowFor(t.dataSource, token)).toBeUndefined();
      const replay = await request(t.url).get('/private').set('Cookie', `${COOKIE}=${token}`);
      expect(replay.status).toBe(401);
      expect(replay.body.code).toBe('session_required');
    });

    it('R10 authenticated responses carry Cache-Control: no-store', async () => {
      const browser = new Browser(t.url);
      const login = await browser.post('/login', { userId: 'u1' });
      expect(login.headers['cache-control']).toBe('no-store');
      const me = await browser.get('/private');
      expect(me.headers['cache-control']).toBe('no-store');
    });

    it('logoutAll ends every session of the user and no other', async () => {
      const a = new Browser(t.url);
      const b = new Browser(t.url);
      const other = new Browser(t.url);
      await a.post('/login', { userId: 'u1' });
      await b.post('/login', { userId: 'u1' });
      await other.post('/login', { userId: 'u2' });
      const response = await a.post('/logout-all');
      expect(response.body).toEqual({ ended: 2 });
      expect((await b.get('/private')).status).toBe(401);
      expect((await other.get('/private')).status).toBe(200);
    });
  });

  describe('authentication', () => {
    it('authenticate gives a new ID, keeps anonymous data, and sets user and time-stamps', async () => {
      const browser = new Browser(t.url);
      await browser.post('/public/data', { cart: ['x'] });
      const anonymous = browser.token!;
      const login = await browser.post('/login', { userId: 'u1' });
      expect(login.body).toMatchObject({ userId: 'u1', data: { cart: ['x'] } });
      expect(browser.token).not.toBe(anonymous);
      const row = await rowFor(t.dataSource, browser.token!);
      expect(row?.user_id).toBe('u1');
      expect(row?.authenticated_at?.toISOString()).toBe(t.clock.now().toISOString());
      expect((await rowFor(t.dataSource, anonymous))?.obsoleted_at).not.toBeNull();
    });

    it("logging in as user 2 on a session of user 1 keeps none of user 1's data", async () => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1', set: { role: 'admin' } });
      const second = await browser.post('/login', { userId: 'u2' });
      expect(second.body).toMatchObject({ userId: 'u2', data: {} });
      const row = await rowFor(t.dataSource, browser.token!);
      expect(row?.user_id).toBe('u2');
      expect(row?.data).toEqual({});
    });
  });

  describe('data size limit', () => {
    it('data over 8 KiB is refused with 413 naming the limit and nothing is stored', async () => {
      const browser = new Browser(t.url);
      await browser.post('/public/data', { keep: 'me' });
      const response = await browser.post('/public/data', { big: 'x'.repeat(9000) });
      expect(response.status).toBe(413);
      expect(response.body.code).toBe('session_data_too_large');
      expect(response.body.message).toContain('8192');
      expect((await rowFor(t.dataSource, browser.token!))?.data).toEqual({ keep: 'me' });
    });

    it('a new visitor whose first write is too large gets no row', async () => {
      const response = await request(t.url)
        .post('/public/data')
        .send({ big: 'x'.repeat(9000) });
      expect(response.status).toBe(413);
      expect(await countRows(t.dataSource)).toBe(0);
    });
  });

  describe('touch throttle', () => {
    it('a read inside the touch window costs one SELECT; after it, the touch (one UPDATE), plus one SELECT without a cached copy', async () => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      const before = await rowFor(t.dataSource, browser.token!);
      t.statements.reset();
      t.clock.advance(59 * SECOND);
      expect((await browser.get('/private')).status).toBe(200);
      expect(t.statements.count).toBe(1);
      expect(t.statements.statements[0]).toMatch(/^SELECT/);
      expect((await rowFor(t.dataSource, browser.token!))?.last_seen_at).toEqual(
        before?.last_seen_at,
      );

      // With the session cache, the read finds the copy the first one kept: the touch alone.
      t.statements.reset();
      t.clock.advance(2 * SECOND);
      expect((await browser.get('/private')).status).toBe(200);
      expect(t.statements.count).toBe(readsFromCache(t) ? 1 : 2);
      expect(t.statements.statements.at(-1)).toMatch(/^WITH commit_mode .* UPDATE "session"/);
      expect((await rowFor(t.dataSource, browser.token!))?.last_seen_at.toISOString()).toBe(
        t.clock.now().toISOString(),
      );
    });

    it('a write changes only the keys it names, in one UPDATE', async () => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1', set: { a: 1, b: 2 } });
      t.statements.reset();
      await browser.post('/private/data', { b: 3, c: 4, a: null });
      // With the session cache, the sign-in's write kept the row: the write alone.
      expect(t.statements.count).toBe(readsFromCache(t) ? 1 : 2);
      expect((await rowFor(t.dataSource, browser.token!))?.data).toEqual({ b: 3, c: 4 });
    });

    it('a write inside the touch window leaves last_seen_at and expires_at; after it, it moves them too', async () => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      const before = await rowFor(t.dataSource, browser.token!);
      t.clock.advance(59 * SECOND);
      await browser.post('/private/data', { a: 1 });
      const inside = await rowFor(t.dataSource, browser.token!);
      expect(inside?.data).toEqual({ a: 1 });
      expect([inside?.last_seen_at, inside?.expires_at]).toEqual([
        before?.last_seen_at,
        before?.expires_at,
      ]);
      t.clock.advance(2 * SECOND);
      await browser.post('/private/data', { a: 2 });
      const after = await rowFor(t.dataSource, browser.token!);
      expect(after?.data).toEqual({ a: 2 });
      expect(after?.last_seen_at.toISOString()).toBe(t.clock.now().toISOString());
      expect(after!.expires_at.getTime()).toBe(t.clock.now().getTime() + 30 * MINUTE);
    });

    it('clear() replaces the stored data', async () => {
      const browser = new Browser(t.url);
      await browser.post('/public/data', { a: 1, b: 2 });
      const response = await browser.delete('/public/data');
      expect(response.status).toBe(200);
      expect((await rowFor(t.dataSource, browser.token!))?.data).toEqual({});
    });

    it('the statements are named prepared statements (option preparedStatements, default true)', async () => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      t.statements.reset();
      await browser.post('/private/data', { a: 1 });
      expect([t.statements.count, t.statements.prepared]).toEqual([
        2,
        usesEmbeddedPostgres() ? 0 : 2,
      ]);
    });
  });

  describe('saving before the response goes out', () => {
    it('a streamed body (StreamableFile) waits for the save: it carries the new cookie and the row is stored', async () => {
      const browser = new Browser(t.url);
      const response = await browser.get('/public/stream');
      expect(response.status).toBe(200);
      expect(response.text).toBe('one,two');
      expect(sessionCookies(response)).toHaveLength(1);
      expect((await rowFor(t.dataSource, browser.token!))?.data).toEqual({ streamed: true });
    });

    it('an error response of the handler still saves what it changed before failing', async () => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      const response = await browser.post('/private/data?fail=1', { a: 1 });
      expect(response.status).toBe(418);
      expect((await rowFor(t.dataSource, browser.token!))?.data).toEqual({ a: 1 });
    });
  });
});
