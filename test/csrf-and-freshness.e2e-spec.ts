import request from 'supertest';
import { SessionEvent } from 'nest-session-security';
import { ADAPTERS, useTestApp } from './support/test-app';
import { COOKIE, countRows, rowFor, sessionCookies } from './support/http-client';

const MINUTE = 60_000;
const HEADER = 'x-csrf-token';

/** A browser-like client that keeps the session cookie and knows its CSRF token. */
class Client {
  token: string | null = null;
  csrf: string | null = null;

  constructor(private readonly url: string) {}

  private keep(response: request.Response): request.Response {
    for (const cookie of sessionCookies(response)) {
      this.token = cookie.attributes['max-age'] === '0' ? null : cookie.value;
    }
    return response;
  }

  private cookie(test: request.Test): request.Test {
    return this.token ? test.set('Cookie', `${COOKIE}=${this.token}`) : test;
  }

  async refreshCsrf(): Promise<string> {
    const response = this.keep(await this.cookie(request(this.url).get('/csrf')));
    this.csrf = response.body.token;
    return this.csrf!;
  }

  get(path: string) {
    return this.cookie(request(this.url).get(path)).then((r) => this.keep(r));
  }

  /** An unsafe request; `csrf` overrides the token sent (null: none). */
  post(path: string, body: object = {}, csrf: string | null | undefined = this.csrf) {
    let test = this.cookie(request(this.url).post(path));
    if (csrf) test = test.set(HEADER, csrf);
    return test.send(body).then((r) => this.keep(r));
  }

  async login(userId: string) {
    if (!this.csrf) await this.refreshCsrf();
    const response = await this.post('/login', { userId });
    await this.refreshCsrf();
    return response;
  }
}

describe.each(ADAPTERS)('R15 CSRF (%s)', (adapter) => {
  const t = useTestApp(adapter, {
    options: { csrf: { trustedOrigins: ['https://partner.test'] } },
  });

  const rejected = (response: request.Response, code = 'csrf_token_invalid') => {
    expect(response.status).toBe(403);
    expect(response.body.code).toBe(code);
  };

  it('R15 safe methods need no token and change nothing', async () => {
    const response = await request(t.url).get('/public');
    expect(response.status).toBe(200);
    expect(await countRows(t.dataSource)).toBe(0);
  });

  it('R15 asking for a token stores nothing: the login form is protected by a signed pre-session', async () => {
    const client = new Client(t.url);
    const token = await client.refreshCsrf();
    expect(token).toMatch(/^[A-Za-z0-9_-]{86}$/);
    expect(client.token).toMatch(/^p\./);
    expect(await countRows(t.dataSource)).toBe(0);
    const again = await client.get('/csrf');
    expect(again.body.token).not.toBe(token);
    expect(again.headers['cache-control']).toBe('no-store');
    expect(again.headers.vary).toMatch(/Cookie/);
  });

  it('R15 login without a token is refused; with the pre-login token it works', async () => {
    const client = new Client(t.url);
    await client.refreshCsrf();
    rejected(await client.post('/login', { userId: 'u1' }, null));
    expect((await client.post('/login', { userId: 'u1' })).status).toBe(200);
  });

  it('R15 missing, wrong, other-session and pre-login tokens get 403 after login', async () => {
    const client = new Client(t.url);
    await client.refreshCsrf();
    const preLogin = client.csrf!;
    await client.login('u1');
    const other = new Client(t.url);
    await other.login('u2');

    rejected(await client.post('/private/data', { a: 1 }, null));
    rejected(await client.post('/private/data', { a: 1 }, 'A'.repeat(86)));
    rejected(await client.post('/private/data', { a: 1 }, other.csrf));
    rejected(await client.post('/private/data', { a: 1 }, preLogin));
    const ok = await client.post('/private/data', { a: 1 });
    expect(ok.status).toBe(200);
    expect(ok.headers.vary).toMatch(/Origin/);
    expect(ok.headers.vary).toMatch(/Sec-Fetch-Site/);
  });

  it('R15 naive double-submit (a cookie equal to the header) is refused', async () => {
    const client = new Client(t.url);
    await client.login('u1');
    const planted = 'A'.repeat(86);
    const response = await request(t.url)
      .post('/private/data')
      .set(
        'Cookie',
        `${COOKIE}=${client.token}; csrf=${planted}; _csrf=${planted}; XSRF-TOKEN=${planted}`,
      )
      .set(HEADER, planted)
      .send({ a: 1 });
    rejected(response);
    const sessionAsToken = await client.post('/private/data', { a: 1 }, client.token);
    rejected(sessionAsToken);
  });

  it('R15 a token in the URL or the body is not accepted', async () => {
    const client = new Client(t.url);
    await client.login('u1');
    const response = await request(t.url)
      .post(`/private/data?${HEADER}=${client.csrf}&_csrf=${client.csrf}`)
      .set('Cookie', `${COOKIE}=${client.token}`)
      .send({ [HEADER]: client.csrf, _csrf: client.csrf });
    rejected(response);
  });

  it('R15 Sec-Fetch-Site: cross-site is refused even with a valid token', async () => {
    const client = new Client(t.url);
    await client.login('u1');
    const response = await request(t.url)
      .post('/private/data')
      .set('Cookie', `${COOKIE}=${client.token}`)
      .set(HEADER, client.csrf!)
      .set('Sec-Fetch-Site', 'cross-site')
      .send({ a: 1 });
    rejected(response, 'csrf_origin_rejected');
  });

  it.each([
    ['a foreign Origin', 'https://evil.test', 403],
    ['a null Origin', 'null', 403],
    ['the own Origin', 'own', 200],
    ['a trusted Origin', 'https://partner.test', 200],
  ])('R15 %s with a valid token -> %s', async (_, origin, status) => {
    const client = new Client(t.url);
    await client.login('u1');
    const own = new URL(t.url).origin;
    const response = await request(t.url)
      .post('/private/data')
      .set('Cookie', `${COOKIE}=${client.token}`)
      .set(HEADER, client.csrf!)
      .set('Origin', origin === 'own' ? own : origin)
      .send({ a: 1 });
    expect(response.status).toBe(status);
    if (status === 403) expect(response.body.code).toBe('csrf_origin_rejected');
  });

  it('R15 an anonymous write needs the token too (the cart of a new visitor)', async () => {
    rejected(
      await request(t.url)
        .post('/public/data')
        .send({ cart: ['x'] }),
    );
    expect(await countRows(t.dataSource)).toBe(0);
    const client = new Client(t.url);
    await client.refreshCsrf();
    expect((await client.post('/public/data', { cart: ['x'] })).status).toBe(200);
  });

  it('R15 a refused request saves nothing: no touch, no rotation, no cookie', async () => {
    const client = new Client(t.url);
    await client.login('u1');
    const before = await rowFor(t.dataSource, client.token!);
    const rows = await countRows(t.dataSource);
    t.clock.advance(16 * MINUTE);
    const refused = await client.post('/private/data', { a: 1 }, null);
    rejected(refused);
    expect(sessionCookies(refused)).toEqual([]);
    const after = await rowFor(t.dataSource, client.token!);
    expect(after?.last_seen_at).toEqual(before?.last_seen_at);
    expect(after?.obsoleted_at).toBeNull();
    expect(after?.data).toEqual({});
    expect(await countRows(t.dataSource)).toBe(rows);
    // The next accepted request does both: the refusal did not eat them.
    const accepted = await client.get('/private');
    expect(accepted.status).toBe(200);
    expect(sessionCookies(accepted)).toHaveLength(1);
  });

  it('R15 @SkipCsrf() routes take unsafe requests without a token', async () => {
    expect((await request(t.url).post('/webhook').send({})).status).toBe(200);
  });

  it('R17 a CSRF rejection emits an event without the token', async () => {
    const client = new Client(t.url);
    await client.login('u1');
    await client.post('/private/data', { a: 1 }, 'A'.repeat(86));
    const event = t.events.find(
      (e): e is Extract<SessionEvent, { type: 'csrf.rejected' }> => e.type === 'csrf.rejected',
    );
    expect(event).toMatchObject({
      reason: 'invalid-token',
      method: 'POST',
      session: { userId: 'u1' },
    });
    expect(JSON.stringify(event)).not.toContain(client.token);
    expect(JSON.stringify(event)).not.toContain(client.csrf);
  });
});

describe.each(ADAPTERS)('R12 fresh authentication (%s)', (adapter) => {
  const t = useTestApp(adapter);

  const signIn = async (userId: string) => {
    const response = await request(t.url).post('/login').send({ userId });
    return sessionCookies(response)[0].value;
  };
  const post = (token: string, path: string, body: object = {}) =>
    request(t.url).post(path).set('Cookie', `${COOKIE}=${token}`).send(body);

  it('R12 a route marked fresh-only accepts a recent login and refuses an older one', async () => {
    const token = await signIn('u1');
    t.clock.advance(5 * MINUTE);
    expect((await post(token, '/sensitive')).status).toBe(200);
    t.clock.advance(MINUTE);
    const stale = await post(token, '/sensitive');
    expect(stale.status).toBe(401);
    expect(stale.body.code).toBe('reauth_required');
  });

  it('R12 after re-authentication the route works again, under a new ID', async () => {
    const token = await signIn('u1');
    t.clock.advance(10 * MINUTE);
    expect((await post(token, '/sensitive')).body.code).toBe('reauth_required');
    const again = await post(token, '/login', { userId: 'u1' });
    const renewed = sessionCookies(again)[0].value;
    expect(renewed).not.toBe(token);
    expect((await post(renewed, '/sensitive')).status).toBe(200);
  });

  it('R12 a half-finished login (second factor pending) passes no protected route', async () => {
    const first = await request(t.url).post('/login/password').send({ userId: 'u1' });
    expect(first.status).toBe(200);
    const pending = sessionCookies(first)[0].value;
    expect(
      (await request(t.url).get('/private').set('Cookie', `${COOKIE}=${pending}`)).status,
    ).toBe(401);
    expect((await post(pending, '/sensitive')).body.code).toBe('session_required');
    const second = await post(pending, '/login/second-factor');
    expect(second.status).toBe(200);
    expect(second.body.data).toEqual({});
    const done = sessionCookies(second)[0].value;
    expect(done).not.toBe(pending);
    expect((await post(done, '/sensitive')).status).toBe(200);
  });
});
