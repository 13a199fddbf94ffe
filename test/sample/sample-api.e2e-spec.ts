import { createHash } from 'node:crypto';
import { hashToken, ManualClock } from 'nest-session-security';
import request from 'supertest';
import { UsersService } from '../../sample/users/users.service';
import {
  expectDenied,
  REMEMBER_ME_COOKIE,
  SAMPLE_ADAPTERS,
  SAMPLE_COOKIE,
  SampleApp,
  SampleClient,
  SampleDatabase,
  startSample,
  USER_AGENTS,
} from '../support/sample-app';

const T0 = new Date('2030-01-01T09:00:00.000Z');
const MINUTE = 60_000;

const ALICE = { username: 'alice', password: 'alice-demo-password' };
const BOB = { username: 'bob', password: 'bob-demo-password' };

/** The Set-Cookie line of the session cookie, if the response has one. */
function sessionCookieLine(response: request.Response): string | undefined {
  const lines = (response.headers['set-cookie'] as unknown as string[] | undefined) ?? [];
  return lines.find((line) => line.startsWith(`${SAMPLE_COOKIE}=`));
}

function rememberMeCookieLine(response: request.Response): string | undefined {
  const lines = (response.headers['set-cookie'] as unknown as string[] | undefined) ?? [];
  return lines.find((line) => line.startsWith(`${REMEMBER_ME_COOKIE}=`));
}

function expectCleared(response: request.Response): void {
  expect(sessionCookieLine(response)).toMatch(/^__Host-sid=;.*Max-Age=0/);
}

let database: SampleDatabase;

beforeAll(async () => {
  database = await SampleDatabase.create('api');
});
afterAll(() => database?.drop());

describe.each(SAMPLE_ADAPTERS)('sample JSON API (%s)', (adapter) => {
  let sample: SampleApp;
  const clock = new ManualClock(T0);
  const client = (agent?: string) => new SampleClient(sample.url, agent);

  /** A client signed in as `user`. */
  async function signedIn(
    user = ALICE,
    agent?: string,
    rememberMe?: boolean,
  ): Promise<SampleClient> {
    const browser = client(agent);
    await browser.signIn(user.username, user.password, rememberMe);
    return browser;
  }

  /** The client's session is gone (its idle timeout passed); only its remember-me cookie is left. */
  function sessionExpired(browser: SampleClient): void {
    clock.advance(31 * MINUTE);
    browser.cookies.delete(SAMPLE_COOKIE);
  }

  beforeAll(async () => {
    sample = await startSample(adapter, { databaseUrl: database.url, clock });
  });
  afterAll(() => sample?.close());
  beforeEach(async () => {
    clock.set(T0);
    await sample.dataSource.query(`TRUNCATE "session"`);
  });

  describe('POST /api/auth/login', () => {
    it('200 {user}: sets the secure, host-only session cookie; the user is signed in', async () => {
      const browser = client();
      const response = await browser.post('/api/auth/login', ALICE);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ user: { id: expect.any(String), username: 'alice' } });
      const cookie = sessionCookieLine(response)!;
      expect(cookie).toMatch(/^__Host-sid=[A-Za-z0-9_-]{43};/);
      expect(cookie).toMatch(/; Path=\//);
      expect(cookie).toMatch(/; HttpOnly/);
      expect(cookie).toMatch(/; Secure/);
      expect(cookie).toMatch(/; SameSite=Lax/);
      expect(cookie).not.toMatch(/Domain=|Max-Age|Expires/i);
      expect(JSON.stringify(response.body)).not.toMatch(/password|hash/i);
      expect((await browser.get('/api/me')).body.user.username).toBe('alice');
    });

    it('rememberMe: true also sets the remember-me cookie for 30 days; false or absent, none', async () => {
      const remembered = await client().post('/api/auth/login', { ...BOB, rememberMe: true });
      expect(remembered.status).toBe(200);
      expect(rememberMeCookieLine(remembered)).toMatch(
        /^__Host-remember=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+; Path=\/; .*Max-Age=2592000/,
      );
      for (const rememberMe of [false, undefined]) {
        const response = await client().post('/api/auth/login', { ...BOB, rememberMe });
        expect(response.status).toBe(200);
        expect(rememberMeCookieLine(response)).toBeUndefined();
      }
    });

    it('remember me: once the session has expired, the device is signed in again as one entry of its own (R23)', async () => {
      const browser = await signedIn(ALICE, USER_AGENTS.firefoxWindows, true);
      const { handle } = (await browser.get('/api/me')).body.session;
      sessionExpired(browser);
      const response = await browser.get('/api/me');
      expect(response.status).toBe(200);
      expect(response.body.user.username).toBe('alice');
      // Every session has its own handle: a restore is a new entry, not the issuing session's.
      expect(response.body.session).toMatchObject({ authenticatedAt: null });
      expect(response.body.session.handle).not.toBe(handle);
      expect(browser.token).not.toBeNull();
      const list = (await browser.get('/api/sessions')).body as {
        handle: string;
        current: boolean;
      }[];
      expect(list).toEqual([
        expect.objectContaining({ handle: response.body.session.handle, current: true }),
      ]);
    });

    it('regenerates: the anonymous cookie is replaced and the cart survives sign-in', async () => {
      const browser = client();
      await browser.post('/api/cart/items', { sku: 'tea-01', qty: 2 });
      const anonymous = browser.token;
      expect(anonymous).not.toBeNull();
      await browser.signIn(ALICE.username, ALICE.password);
      expect(browser.token).not.toBeNull();
      expect(browser.token).not.toBe(anonymous);
      expect((await browser.get('/api/cart')).body).toEqual({ items: [{ sku: 'tea-01', qty: 2 }] });
    });

    it('401 invalid_credentials for a wrong password and for an unknown user, with one message', async () => {
      const wrong = await client().post('/api/auth/login', { ...ALICE, password: 'nope' });
      const unknown = await client().post('/api/auth/login', {
        username: 'mallory',
        password: 'x',
      });
      expectDenied(wrong, 401, 'invalid_credentials');
      expectDenied(unknown, 401, 'invalid_credentials');
      expect(unknown.body.message).toBe(wrong.body.message);
      expect(sessionCookieLine(wrong)).toBeUndefined();
    });

    it('400 invalid_body names each bad field', async () => {
      const response = await client().post('/api/auth/login', {
        username: 42,
        rememberMe: 'yes',
      });
      expectDenied(response, 400, 'invalid_body');
      expect(Object.keys(response.body.fields).sort()).toEqual([
        'password',
        'rememberMe',
        'username',
      ]);
      expect(response.body.fields.username).toContain('username must be a string');
      expect(response.body.message).toEqual(Object.values(response.body.fields).flat());
    });

    it('400 for a body that is not JSON', async () => {
      const response = await request(sample.url)
        .post('/api/auth/login')
        .set('Content-Type', 'application/json')
        .send('{"username": ');
      expect(response.status).toBe(400);
    });
  });

  describe('POST /api/auth/logout', () => {
    it('204: ends the session and clears the cookie; the old cookie is refused after', async () => {
      const browser = await signedIn();
      const token = browser.token;
      const response = await browser.post('/api/auth/logout');
      expect(response.status).toBe(204);
      expectCleared(response);
      const row = `SELECT 1 FROM "session" WHERE id_hash = $1`;
      expect(await sample.dataSource.query(row, [hashToken(token!)])).toHaveLength(0);
      const replay = await request(sample.url)
        .get('/api/me')
        .set('Cookie', `${SAMPLE_COOKIE}=${token}`);
      expectDenied(replay, 401, 'session_required');
    });

    it('204 without a session too (signing out twice)', async () => {
      expect((await client().post('/api/auth/logout')).status).toBe(204);
    });
  });

  describe('POST /api/auth/logout-all', () => {
    it("204: ends every session of the user, not another user's", async () => {
      const laptop = await signedIn(ALICE, USER_AGENTS.firefoxWindows);
      const phone = await signedIn(ALICE, USER_AGENTS.safariIphone);
      const bob = await signedIn(BOB);
      const response = await laptop.post('/api/auth/logout-all');
      expect(response.status).toBe(204);
      expectCleared(response);
      expectDenied(await phone.get('/api/me'), 401, 'session_revoked');
      expect(phone.token).toBeNull();
      expect((await bob.get('/api/me')).status).toBe(200);
    });

    it('204: remembered devices are forgotten too', async () => {
      const laptop = await signedIn(ALICE, USER_AGENTS.firefoxWindows, true);
      const phone = await signedIn(ALICE, USER_AGENTS.safariIphone, true);
      expect((await laptop.post('/api/auth/logout-all')).status).toBe(204);
      sessionExpired(phone);
      expectDenied(await phone.get('/api/me'), 401, 'session_required');
    });

    it('401 session_required when signed out', async () => {
      expectDenied(await client().post('/api/auth/logout-all'), 401, 'session_required');
    });
  });

  describe('GET /api/me', () => {
    it('200 {user, session: {handle, createdAt, authenticatedAt}}', async () => {
      const browser = await signedIn();
      const response = await browser.get('/api/me');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        user: { id: expect.any(String), username: 'alice' },
        session: {
          handle: expect.any(String),
          createdAt: T0.toISOString(),
          authenticatedAt: T0.toISOString(),
        },
      });
    });

    it('401 session_required without a session, and for a cookie the server never issued', async () => {
      expectDenied(await client().get('/api/me'), 401, 'session_required');
      const forged = await request(sample.url)
        .get('/api/me')
        .set('Cookie', `${SAMPLE_COOKIE}=${'A'.repeat(43)}`);
      expectDenied(forged, 401, 'session_required');
    });

    it('401 session_idle_expired past the idle timeout (30 minutes by default)', async () => {
      const browser = await signedIn();
      clock.advance(29 * MINUTE);
      expect((await browser.get('/api/me')).status).toBe(200);
      clock.advance(31 * MINUTE);
      const response = await browser.get('/api/me');
      expectDenied(response, 401, 'session_idle_expired');
      expectCleared(response);
    });
  });

  describe('GET /api/sessions', () => {
    it("200: the user's sessions, most recent first, the current one marked, without tokens or hashes", async () => {
      const laptop = await signedIn(ALICE, USER_AGENTS.firefoxWindows);
      clock.advance(MINUTE);
      const phone = await signedIn(ALICE, USER_AGENTS.safariIphone);
      await signedIn(BOB);
      const response = await laptop.get('/api/sessions');
      expect(response.status).toBe(200);
      expect(response.body).toEqual([
        {
          handle: expect.any(String),
          current: false,
          device: 'Safari on iOS',
          createdAt: new Date(T0.getTime() + MINUTE).toISOString(),
          lastSeenAt: new Date(T0.getTime() + MINUTE).toISOString(),
          ip: expect.stringMatching(/127\.0\.0\.1/),
          userAgent: USER_AGENTS.safariIphone,
        },
        {
          handle: expect.any(String),
          current: true,
          device: 'Firefox on Windows',
          createdAt: T0.toISOString(),
          lastSeenAt: T0.toISOString(),
          ip: expect.stringMatching(/127\.0\.0\.1/),
          userAgent: USER_AGENTS.firefoxWindows,
        },
      ]);
      const body = JSON.stringify(response.body);
      for (const token of [laptop.token!, phone.token!]) expect(body).not.toContain(token);
      const hashes = await sample.dataSource.query(
        `SELECT encode(id_hash, 'hex') AS h FROM "session"`,
      );
      for (const { h } of hashes) expect(body).not.toContain(h);
    });

    it('401 session_required when signed out', async () => {
      expectDenied(await client().get('/api/sessions'), 401, 'session_required');
    });
  });

  describe('DELETE /api/sessions/:handle', () => {
    it('204: that session is signed out (401 session_revoked next), the caller stays in', async () => {
      const laptop = await signedIn(ALICE, USER_AGENTS.firefoxWindows);
      const phone = await signedIn(ALICE, USER_AGENTS.safariIphone);
      const list = (await laptop.get('/api/sessions')).body as {
        handle: string;
        current: boolean;
      }[];
      const other = list.find((entry) => !entry.current)!;
      const response = await laptop.delete(`/api/sessions/${other.handle}`);
      expect(response.status).toBe(204);
      const next = await phone.get('/api/me');
      expectDenied(next, 401, 'session_revoked');
      expectCleared(next);
      expect((await laptop.get('/api/sessions')).body).toHaveLength(1);
    });

    it('204 for the current session: signs this device out and clears its cookie', async () => {
      const browser = await signedIn();
      const [own] = (await browser.get('/api/sessions')).body;
      const response = await browser.delete(`/api/sessions/${own.handle}`);
      expect(response.status).toBe(204);
      expectCleared(response);
      expectDenied(await browser.get('/api/me'), 401, 'session_required');
    });

    it("404 session_not_found for another user's handle (which stays signed in) and for an unknown one", async () => {
      const alice = await signedIn(ALICE);
      const bob = await signedIn(BOB);
      const [bobs] = (await bob.get('/api/sessions')).body;
      expectDenied(await alice.delete(`/api/sessions/${bobs.handle}`), 404, 'session_not_found');
      expect((await bob.get('/api/me')).status).toBe(200);
      expectDenied(await alice.delete('/api/sessions/no-such-handle'), 404, 'session_not_found');
      expect((await alice.get('/api/me')).status).toBe(200);
    });

    it('401 session_required when signed out', async () => {
      expectDenied(await client().delete('/api/sessions/anything'), 401, 'session_required');
    });
  });

  describe('POST /api/sessions/revoke-others', () => {
    it("204: every other session of the user is signed out, the caller's and other users' stay", async () => {
      const laptop = await signedIn(ALICE, USER_AGENTS.firefoxWindows);
      const phone = await signedIn(ALICE, USER_AGENTS.safariIphone);
      const tablet = await signedIn(ALICE, USER_AGENTS.chromeLinux);
      const bob = await signedIn(BOB);
      const response = await laptop.post('/api/sessions/revoke-others');
      expect(response.status).toBe(204);
      expect(sessionCookieLine(response)).toBeUndefined();
      for (const other of [phone, tablet]) {
        expectDenied(await other.get('/api/me'), 401, 'session_revoked');
      }
      expect((await laptop.get('/api/sessions')).body).toHaveLength(1);
      expect((await bob.get('/api/me')).status).toBe(200);
    });

    it('401 session_required when signed out', async () => {
      expectDenied(await client().post('/api/sessions/revoke-others'), 401, 'session_required');
    });
  });

  describe('POST /api/auth/password', () => {
    // A user of its own per adapter, so changing the password leaves the demo users alone.
    const carol = { username: `carol-${adapter}`, password: 'carol-first-password' };
    const change = { currentPassword: carol.password, newPassword: 'carol-second-password' };

    beforeEach(async () => {
      const users = sample.app.get(UsersService);
      await sample.dataSource.query(`DELETE FROM "users" WHERE username = $1`, [carol.username]);
      await users.createIfMissing(carol.username, carol.password);
    });

    it('204: new password, new session ID, every other session signed out', async () => {
      const laptop = await signedIn(carol, USER_AGENTS.firefoxWindows);
      const phone = await signedIn(carol, USER_AGENTS.safariIphone);
      const before = laptop.token;
      const handle = (await laptop.get('/api/me')).body.session.handle;
      const response = await laptop.post('/api/auth/password', change);
      expect(response.status).toBe(204);
      expect(laptop.token).not.toBeNull();
      expect(laptop.token).not.toBe(before);
      expect((await laptop.get('/api/me')).body.session.handle).toBe(handle);
      expectDenied(await phone.get('/api/me'), 401, 'session_revoked');
      const old = await client().post('/api/auth/login', carol);
      expectDenied(old, 401, 'invalid_credentials');
      await client().signIn(carol.username, change.newPassword);
    });

    it('401 invalid_credentials for a wrong current password: nothing changes', async () => {
      const laptop = await signedIn(carol);
      const phone = await signedIn(carol);
      const before = laptop.token;
      const response = await laptop.post('/api/auth/password', {
        ...change,
        currentPassword: 'not-the-password',
      });
      expectDenied(response, 401, 'invalid_credentials');
      expect(laptop.token).toBe(before);
      expect((await laptop.get('/api/me')).status).toBe(200);
      expect((await phone.get('/api/me')).status).toBe(200);
      await client().signIn(carol.username, carol.password);
    });

    it('400 invalid_body: a new password too short, a current password missing', async () => {
      const browser = await signedIn(carol);
      const response = await browser.post('/api/auth/password', { newPassword: 'short' });
      expectDenied(response, 400, 'invalid_body');
      expect(response.body.fields).toEqual({
        currentPassword: expect.arrayContaining(['Enter your current password.']),
        newPassword: ['The new password needs at least 12 characters.'],
      });
    });

    it('401 session_required when signed out', async () => {
      expectDenied(await client().post('/api/auth/password', change), 401, 'session_required');
    });

    it('401 reauth_required for a session restored by remember-me', async () => {
      const laptop = await signedIn(carol, USER_AGENTS.firefoxWindows, true);
      sessionExpired(laptop);
      expect((await laptop.get('/api/me')).status).toBe(200);
      expectDenied(await laptop.post('/api/auth/password', change), 401, 'reauth_required');
    });

    it("204 ends the other devices' remember-me tokens too", async () => {
      const laptop = await signedIn(carol, USER_AGENTS.firefoxWindows);
      const phone = await signedIn(carol, USER_AGENTS.safariIphone, true);
      expect((await laptop.post('/api/auth/password', change)).status).toBe(204);
      sessionExpired(phone);
      expectDenied(await phone.get('/api/me'), 401, 'session_required');
    });

    it('401 reauth_required more than 10 minutes after sign-in; signing in again allows it', async () => {
      const laptop = await signedIn(carol);
      const handle = (await laptop.get('/api/me')).body.session.handle;
      clock.advance(11 * MINUTE);
      expectDenied(await laptop.post('/api/auth/password', change), 401, 'reauth_required');
      expect((await laptop.get('/api/me')).status).toBe(200);
      await laptop.signIn(carol.username, carol.password);
      expect((await laptop.get('/api/me')).body.session.handle).toBe(handle);
      expect((await laptop.post('/api/auth/password', change)).status).toBe(204);
    });
  });

  describe('GET /api/csrf and the CSRF check of unsafe requests', () => {
    /** An unsafe request with the session cookie of `browser` and the given headers. */
    function forged(browser: SampleClient, path: string, headers: Record<string, string>) {
      return request(sample.url)
        .post(path)
        .set('Cookie', `${SAMPLE_COOKIE}=${browser.token}`)
        .set(headers)
        .send({});
    }

    it('200 {token}, signed in or not; each call gives a different token', async () => {
      for (const browser of [client(), await signedIn()]) {
        const first = await browser.get('/api/csrf');
        expect(first.status).toBe(200);
        expect(first.body).toEqual({ token: expect.stringMatching(/^\S{16,}$/) });
        expect((await browser.get('/api/csrf')).body.token).not.toBe(first.body.token);
      }
    });

    it('403 csrf_token_invalid for an unsafe request without the token, sign-in included', async () => {
      const anonymous = client();
      await anonymous.get('/api/csrf');
      expectDenied(await forged(anonymous, '/api/auth/login', {}), 403, 'csrf_token_invalid');
      const alice = await signedIn();
      expectDenied(
        await forged(alice, '/api/sessions/revoke-others', { 'x-csrf-token': 'forged' }),
        403,
        'csrf_token_invalid',
      );
    });

    it('the token of the anonymous session is no longer valid after sign-in: fetch a new one', async () => {
      const browser = client();
      const before = (await browser.get('/api/csrf')).body.token as string;
      await browser.signIn(ALICE.username, ALICE.password);
      const stale = await forged(browser, '/api/sessions/revoke-others', {
        'x-csrf-token': before,
      });
      expectDenied(stale, 403, 'csrf_token_invalid');
      const fresh = (await browser.get('/api/csrf')).body.token as string;
      const ok = await forged(browser, '/api/sessions/revoke-others', { 'x-csrf-token': fresh });
      expect(ok.status).toBe(204);
    });

    it('403 csrf_origin_rejected for a cross-site request, even with a valid token', async () => {
      const alice = await signedIn();
      const token = (await alice.get('/api/csrf')).body.token as string;
      const response = await forged(alice, '/api/sessions/revoke-others', {
        'x-csrf-token': token,
        'sec-fetch-site': 'cross-site',
        origin: 'https://evil.example',
      });
      expectDenied(response, 403, 'csrf_origin_rejected');
    });
  });

  describe('anonymous cart', () => {
    it('GET /api/cart: 200 {items: []} with no cookie and no row (lazy session)', async () => {
      const response = await client().get('/api/cart');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ items: [] });
      expect(sessionCookieLine(response)).toBeUndefined();
      expect(await sample.dataSource.query(`SELECT 1 FROM "session"`)).toHaveLength(0);
    });

    it('POST /api/cart/items: 201; a known SKU adds up; DELETE /api/cart: 204', async () => {
      const browser = client();
      const first = await browser.post('/api/cart/items', { sku: 'tea-01', qty: 2 });
      expect(first.status).toBe(201);
      expect(browser.token).not.toBeNull();
      await browser.post('/api/cart/items', { sku: 'mug-02', qty: 1 });
      const third = await browser.post('/api/cart/items', { sku: 'tea-01', qty: 3 });
      expect(third.body).toEqual({
        items: [
          { sku: 'tea-01', qty: 5 },
          { sku: 'mug-02', qty: 1 },
        ],
      });
      expect((await browser.delete('/api/cart')).status).toBe(204);
      expect((await browser.get('/api/cart')).body).toEqual({ items: [] });
    });

    it('POST /api/cart/items: 400 invalid_body for a bad SKU and quantity', async () => {
      const response = await client().post('/api/cart/items', { sku: '../etc', qty: 0 });
      expectDenied(response, 400, 'invalid_body');
      expect(Object.keys(response.body.fields).sort()).toEqual(['qty', 'sku']);
    });
  });

  describe('hostile input is a 400, never a 500 or a 503 (issue 12 §2)', () => {
    /** JSON text nesting `depth` arrays around a string. */
    const deepJson = (depth: number) => '['.repeat(depth) + '"x"' + ']'.repeat(depth);

    /** A POST of `body` as it is (raw text), with the client's cookies and CSRF token. */
    async function postRaw(
      browser: SampleClient,
      path: string,
      body: string,
      contentType = 'application/json',
    ): Promise<request.Response> {
      const { token } = (await browser.get('/api/csrf')).body as { token: string };
      const cookie = [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
      let test = request(sample.url)
        .post(path)
        .set('Content-Type', contentType)
        .set('Accept', 'application/json')
        .set('x-csrf-token', token);
      if (cookie) test = test.set('Cookie', cookie);
      return test.send(body);
    }

    it.each([
      ['NUL', 'alice\\u0000'],
      ['a lone surrogate', 'ali\\ud800ce'],
      ['a line break', 'alice\\n'],
      ['an escape character', '\\u001b[31malice'],
      ['a C1 control character', '\\u0085alice'],
    ])(
      'POST /api/auth/login with %s in the username: 400 invalid_body naming the field',
      async (_label, username) => {
        const body = `{"username": "${username}", "password": "${ALICE.password}"}`;
        const response = await postRaw(client(), '/api/auth/login', body);
        expectDenied(response, 400, 'invalid_body');
        expect(response.body.fields).toEqual({
          username: ['username must not contain control characters or invalid Unicode'],
        });
      },
    );

    it('POST /api/auth/login with NUL or a lone surrogate in the password: 400 on the password', async () => {
      for (const password of ['pass\\u0000word', '\\udfffpassword']) {
        const body = `{"username": "alice", "password": "${password}"}`;
        const response = await postRaw(client(), '/api/auth/login', body);
        expectDenied(response, 400, 'invalid_body');
        expect(Object.keys(response.body.fields)).toEqual(['password']);
      }
    });

    it('POST /api/auth/password with NUL in the new password: 400, the password is unchanged', async () => {
      // A user of its own: were the password changed, the demo users would stay untouched.
      const dave = { username: `dave-${adapter}`, password: 'dave-first-password' };
      await sample.dataSource.query(`DELETE FROM "users" WHERE username = $1`, [dave.username]);
      await sample.app.get(UsersService).createIfMissing(dave.username, dave.password);
      const browser = await signedIn(dave);
      const body = `{"currentPassword": "${dave.password}", "newPassword": "a-new-password\\u0000"}`;
      const response = await postRaw(browser, '/api/auth/password', body);
      expectDenied(response, 400, 'invalid_body');
      expect(response.body.fields).toEqual({
        newPassword: ['The new password cannot contain control characters or invalid Unicode.'],
      });
      await signedIn(dave);
    });

    it.each(['/api/auth/login', '/api/cart/items'])(
      'POST %s with a body nested 5,000 deep: 400 invalid_body before the guard and validation run',
      async (path) => {
        // No CSRF token: the body parser refuses it before the guard could answer 403.
        const response = await request(sample.url)
          .post(path)
          .set('Content-Type', 'application/json')
          .send(`{"username": ${deepJson(5_000)}, "sku": ${deepJson(5_000)}}`);
        expectDenied(response, 400, 'invalid_body');
        expect(response.body.message).toEqual([
          'The JSON body nests arrays and objects more than 32 deep.',
        ]);
        expect(response.body.fields).toBeUndefined();
        expect(sessionCookieLine(response)).toBeUndefined();
        expect(await sample.dataSource.query(`SELECT 1 FROM "session"`)).toHaveLength(0);
      },
    );

    it('a body nested 32 deep is parsed and validated (field errors); 33 deep is refused', async () => {
      const at32 = await postRaw(client(), '/api/cart/items', `{"sku": ${deepJson(31)}, "qty": 1}`);
      expectDenied(at32, 400, 'invalid_body');
      expect(Object.keys(at32.body.fields)).toEqual(['sku']);
      const at33 = await postRaw(client(), '/api/cart/items', `{"sku": ${deepJson(32)}, "qty": 1}`);
      expectDenied(at33, 400, 'invalid_body');
      expect(at33.body.fields).toBeUndefined();
    });

    it('brackets inside strings do not count as nesting', async () => {
      const sku = '[{'.repeat(100);
      const response = await postRaw(client(), '/api/cart/items', JSON.stringify({ sku, qty: 1 }));
      expectDenied(response, 400, 'invalid_body');
      expect(Object.keys(response.body.fields)).toEqual(['sku']);
    });

    it('a form-encoded body is still parsed, on both platforms', async () => {
      const body = new URLSearchParams({ username: 'alice', password: ALICE.password }).toString();
      const response = await postRaw(
        client(),
        '/api/auth/login',
        body,
        'application/x-www-form-urlencoded',
      );
      expect(response.status).toBe(200);
      expect(response.body.user.username).toBe('alice');
    });

    it.each(['%00', 'a%00b', `${'A'.repeat(10)}%00${'A'.repeat(11)}`, '%F0%9F%98%80'])(
      'DELETE /api/sessions/%s: 404 session_not_found, the caller stays signed in',
      async (segment) => {
        const alice = await signedIn(ALICE);
        expectDenied(await alice.delete(`/api/sessions/${segment}`), 404, 'session_not_found');
        expect((await alice.get('/api/me')).status).toBe(200);
      },
    );

    it('no X-Powered-By header, on the API and on the page', async () => {
      for (const path of ['/api/cart', '/']) {
        const response = await client().get(path);
        expect(response.status).toBe(200);
        expect(response.headers['x-powered-by']).toBeUndefined();
      }
    });
  });

  describe('GET / (the web page)', () => {
    it('anonymous: the sign-in form, with remember me; no session is created', async () => {
      const response = await client().get('/');
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/html; charset=utf-8/);
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.text).toContain('id="sign-in"');
      expect(response.text).toContain('name="rememberMe"');
      expect(response.text).not.toContain('id="sessions-title"');
      expect(sessionCookieLine(response)).toBeUndefined();
    });

    it('the Content-Security-Policy allows exactly the inline script and style of the page', async () => {
      const response = await client().get('/');
      const csp = response.headers['content-security-policy'] as string;
      expect(csp).toMatch(/default-src 'none'/);
      const sha = (source: string) =>
        `'sha256-${createHash('sha256').update(source).digest('base64')}'`;
      const script = /<script>([\s\S]*)<\/script>/.exec(response.text)![1];
      const style = /<style>([\s\S]*)<\/style>/.exec(response.text)![1];
      expect(csp).toContain(`script-src ${sha(script)};`);
      expect(csp).toContain(`style-src ${sha(style)};`);
    });

    it('signed in: who, the sessions with the current one marked, a sign-out form per other session', async () => {
      const laptop = await signedIn(ALICE, USER_AGENTS.firefoxWindows);
      await signedIn(ALICE, USER_AGENTS.safariIphone);
      const list = (await laptop.get('/api/sessions')).body as {
        handle: string;
        current: boolean;
      }[];
      const response = await laptop.get('/');
      expect(response.text).toContain('Signed in as <strong>alice</strong>');
      expect(response.text.match(/<tr aria-current="true">/g)).toHaveLength(1);
      expect(response.text).toMatch(/Firefox on Windows<span class="badge">this device<\/span>/);
      const other = list.find((entry) => !entry.current)!;
      const own = list.find((entry) => entry.current)!;
      expect(response.text).toContain(
        `data-api="/api/sessions/${other.handle}" data-method="DELETE"`,
      );
      expect(response.text).not.toContain(`data-api="/api/sessions/${own.handle}"`);
      expect(response.text).toContain('id="revoke-others"');
      expect(response.text).toContain('id="sign-out-everywhere" data-api="/api/auth/logout-all"');
      expect(response.text).toContain('id="change-password"');
      expect(response.text).not.toContain(laptop.token!);
    });

    it('escapes what users send: a user agent with markup is shown as text', async () => {
      const attacker = '<script>alert(1)</script><img src=x onerror=alert(2)>';
      await signedIn(ALICE, attacker);
      const laptop = await signedIn(ALICE);
      const response = await laptop.get('/');
      expect(response.text).toContain(
        '&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;',
      );
      expect(response.text).not.toContain(attacker);
    });

    it('a signed-out cookie gets the sign-in form and is cleared', async () => {
      const laptop = await signedIn(ALICE);
      const phone = await signedIn(ALICE);
      await laptop.post('/api/sessions/revoke-others');
      const response = await phone.get('/');
      expect(response.status).toBe(200);
      expect(response.text).toContain('id="sign-in"');
      expectCleared(response);
    });
  });
});
