import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { issuePreSession } from '../lib/core/pre-session-token';
import { maskCsrfToken } from '../lib/core/csrf-token';
import { ADAPTERS, clockAt, eventsOf, startApp, T0, TestApp, useTestApp } from './support/test-app';
import { COOKIE, countRows, idHash, rowFor, sessionCookies } from './support/http-client';

const MINUTE = 60_000;
const HEADER = 'x-csrf-token';
const PRE_SESSION = /^p\.[A-Za-z0-9_-]{72}$/;
const SESSION_TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** What a visitor holds after asking for a token: the cookie value and the token. */
interface Issued {
  cookie: string;
  token: string;
}

/** `GET /csrf` with `cookie` (if any) as the session cookie; the cookie and token it hands out. */
async function askToken(url: string, cookie?: string): Promise<Issued> {
  let test = request(url).get('/csrf');
  if (cookie) test = test.set('Cookie', `${COOKIE}=${cookie}`);
  const response = await test;
  expect(response.status).toBe(200);
  const [set] = sessionCookies(response);
  return { cookie: set?.value ?? cookie ?? '', token: response.body.token as string };
}

/** An unsafe request with the session cookie `cookie` (raw header when it has `;`) and `token`. */
function post(url: string, path: string, cookie: string | null, token: string | null, body = {}) {
  let test = request(url).post(path);
  if (cookie !== null)
    test = test.set('Cookie', cookie.includes('=') ? cookie : `${COOKIE}=${cookie}`);
  if (token !== null) test = test.set(HEADER, token);
  return test.send(body);
}

function refused(response: request.Response): void {
  expect(response.status).toBe(403);
  expect(response.body.code).toBe('csrf_token_invalid');
}

describe.each(ADAPTERS)('R15 anonymous CSRF without a row (%s)', (adapter) => {
  const t = useTestApp(adapter, { options: { csrf: { enabled: true }, idleTimeout: '30m' } });

  it('2,000 cookie-less token requests store nothing and send no statement', async () => {
    const cookies = new Set<string>();
    for (let batch = 0; batch < 40; batch++) {
      const issued = await Promise.all(Array.from({ length: 50 }, () => askToken(t.url)));
      for (const { cookie, token } of issued) {
        expect(cookie).toMatch(PRE_SESSION);
        expect(token).toMatch(/^[A-Za-z0-9_-]{86}$/);
        cookies.add(cookie);
      }
    }
    expect(cookies.size).toBe(2000);
    expect(t.statements.count).toBe(0);
    expect(await countRows(t.dataSource)).toBe(0);
    expect(eventsOf(t, 'session.created')).toHaveLength(0);
  });

  it('the pre-session cookie has the session cookie attributes and no lifetime', async () => {
    const response = await request(t.url).get('/csrf');
    const [cookie] = sessionCookies(response);
    expect(cookie.value).toMatch(PRE_SESSION);
    expect(cookie.attributes).toMatchObject({ path: '/', httponly: true, secure: true });
    expect(cookie.attributes['max-age']).toBeUndefined();
    expect(cookie.attributes.expires).toBeUndefined();
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers.vary).toMatch(/Cookie/);
  });

  it('login CSRF: no token, a foreign token, a token without its cookie, the cookie as token -> 403', async () => {
    const mine = await askToken(t.url);
    const other = await askToken(t.url);
    refused(await post(t.url, '/login', mine.cookie, null, { userId: 'victim' }));
    refused(await post(t.url, '/login', mine.cookie, other.token, { userId: 'victim' }));
    refused(await post(t.url, '/login', null, mine.token, { userId: 'victim' }));
    refused(await post(t.url, '/login', mine.cookie, mine.cookie, { userId: 'victim' }));
    expect(await countRows(t.dataSource)).toBe(0);
    const signedIn = await post(t.url, '/login', mine.cookie, mine.token, { userId: 'victim' });
    expect(signedIn.status).toBe(200);
    const [session] = sessionCookies(signedIn);
    expect(session.value).toMatch(SESSION_TOKEN);
    // The token from before the sign-in stops working: a sign-in starts a new secret.
    refused(await post(t.url, '/private/data', session.value, mine.token, { a: 1 }));
    const fresh = await askToken(t.url, session.value);
    expect((await post(t.url, '/private/data', session.value, fresh.token, { a: 1 })).status).toBe(
      200,
    );
  });

  it('naive double-submit fails: a cookie the server did not sign is refused and cleared', async () => {
    const planted = randomBytes(32);
    const token = maskCsrfToken(planted);
    const genuine = (await askToken(t.url)).cookie;
    const forgedCookies = [
      // Issued under another deployment's key, with a token for its own secret.
      issuePreSession(randomBytes(32), T0),
      // A genuine cookie with one character of its tag changed.
      { value: genuine.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')), csrfSecret: planted },
    ];
    for (const forged of forgedCookies) {
      for (const header of [maskCsrfToken(forged.csrfSecret), token, forged.value]) {
        const response = await post(t.url, '/login', forged.value, header, { userId: 'victim' });
        refused(response);
        const [cleared] = sessionCookies(response);
        expect(cleared.attributes['max-age']).toBe('0');
      }
    }
    expect(eventsOf(t, 'session.malformed_cookie').length).toBeGreaterThanOrEqual(6);
    expect(await countRows(t.dataSource)).toBe(0);
  });

  it('the token keeps working across the session its first write stores', async () => {
    const { cookie, token } = await askToken(t.url);
    const first = await post(t.url, '/public/data', cookie, token, { cart: ['a'] });
    expect(first.status).toBe(200);
    const [session] = sessionCookies(first);
    expect(session.value).toMatch(SESSION_TOKEN);
    // Strict mode: the pre-session value never becomes a row's ID.
    expect(await rowFor(t.dataSource, cookie)).toBeUndefined();
    expect((await rowFor(t.dataSource, session.value))?.data).toEqual({ cart: ['a'] });
    expect(await countRows(t.dataSource)).toBe(1);
    const second = await post(t.url, '/public/data', session.value, token, { more: 1 });
    expect(second.status).toBe(200);
    expect((await rowFor(t.dataSource, session.value))?.data).toEqual({ cart: ['a'], more: 1 });
    // The pre-session's cookie alone no longer reaches anything stored.
    const created = eventsOf(t, 'session.created');
    expect(created).toHaveLength(1);
    expect(JSON.stringify(t.events)).not.toContain(cookie.slice(2));
    expect(created[0].session).toMatchObject({ idHash: idHash(session.value) });
  });

  it('a pre-session is no session: protected routes answer 401, nothing is stored', async () => {
    const { cookie } = await askToken(t.url);
    const response = await request(t.url).get('/private').set('Cookie', `${COOKIE}=${cookie}`);
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('session_required');
    expect(sessionCookies(response)).toEqual([]);
    expect(await countRows(t.dataSource)).toBe(0);
  });

  it('a pre-session ends after the idle timeout; asking again before renews it, same secret', async () => {
    const first = await askToken(t.url);
    clockAt(t, 25 * MINUTE);
    const renewed = await askToken(t.url, first.cookie);
    expect(renewed.cookie).toMatch(PRE_SESSION);
    expect(renewed.cookie).not.toBe(first.cookie);
    // 50 minutes after the first issue, 25 after the renewal: the first token still works.
    clockAt(t, 50 * MINUTE);
    const accepted = await post(t.url, '/public/data', renewed.cookie, first.token, { a: 1 });
    expect(accepted.status).toBe(200);

    const stale = await askToken(t.url);
    clockAt(t, 50 * MINUTE + 30 * MINUTE + 1);
    const response = await post(t.url, '/public/data', stale.cookie, stale.token, { a: 1 });
    refused(response);
    expect(sessionCookies(response)[0].attributes['max-age']).toBe('0');
  });

  it('duplicate pre-session cookies: the same one decides, whatever their order', async () => {
    const a = await askToken(t.url);
    const b = await askToken(t.url);
    const status = async (order: string[], token: string) =>
      (
        await post(t.url, '/public/data', order.map((v) => `${COOKIE}=${v}`).join('; '), token, {
          a: 1,
        })
      ).status;
    await t.dataSource.query(`TRUNCATE "session"`);
    const withA = [
      await status([a.cookie, b.cookie], a.token),
      await status([b.cookie, a.cookie], a.token),
    ];
    const withB = [
      await status([a.cookie, b.cookie], b.token),
      await status([b.cookie, a.cookie], b.token),
    ];
    expect(withA[0]).toBe(withA[1]);
    expect(withB[0]).toBe(withB[1]);
    expect([withA[0], withB[0]].sort()).toEqual([200, 403]);
  });

  it('every instance on the database shares the key: a token from one is valid on another', async () => {
    const other: TestApp = await startApp(adapter, { options: { csrf: { enabled: true } } });
    try {
      const issued = await askToken(t.url);
      const response = await post(other.url, '/login', issued.cookie, issued.token, {
        userId: 'u1',
      });
      expect(response.status).toBe(200);
      const keys = await t.dataSource.query(`SELECT count(*)::int AS n FROM "session_server_key"`);
      expect(keys[0].n).toBe(1);
    } finally {
      await other.close();
    }
  });
});
