import { createHash } from 'node:crypto';
import request from 'supertest';
import { SessionEvent, SessionGarbageCollector } from 'nest-session-security';
import { ADAPTERS, TestApp, useTestApp } from './support/test-app';
import { COOKIE, parseSetCookies, sessionCookies } from './support/http-client';

const REMEMBER = '__Host-remember';
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;

function rememberCookies(response: request.Response) {
  return parseSetCookies(response.headers['set-cookie']).filter(
    (cookie) => cookie.name === REMEMBER,
  );
}

/** Logs in with "remember me"; returns both cookie values. */
async function rememberedLogin(t: TestApp, userId: string, agent = 'Firefox/128.0 (X11; Linux)') {
  const response = await request(t.url)
    .post('/login')
    .set('User-Agent', agent)
    .send({ userId, rememberMe: true });
  expect(response.status).toBe(200);
  return {
    session: sessionCookies(response)[0].value,
    remember: rememberCookies(response)[0].value,
  };
}

/** A request carrying only the remember-me cookie (the browser was closed). */
function withRemember(t: TestApp, remember: string, path = '/private') {
  return request(t.url).get(path).set('Cookie', `${REMEMBER}=${remember}`);
}

async function tokenRows(t: TestApp) {
  return t.dataSource.query(`SELECT * FROM "remember_me_token" ORDER BY created_at`);
}

describe.each(ADAPTERS)('R14 remember-me (%s)', (adapter) => {
  const t = useTestApp(adapter, { options: { gcInterval: false } });

  const theftEvents = () =>
    t.events.filter(
      (event): event is Extract<SessionEvent, { type: 'remember_me.theft' }> =>
        event.type === 'remember_me.theft',
    );

  it('R14 R6 the cookie is selector.validator with secure attributes and a 30-day Max-Age', async () => {
    const response = await request(t.url).post('/login').send({ userId: 'u1', rememberMe: true });
    const [cookie] = rememberCookies(response);
    expect(cookie.value).toMatch(/^[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/);
    expect(cookie.attributes).toMatchObject({
      path: '/',
      httponly: true,
      secure: true,
      samesite: 'Lax',
      'max-age': String(30 * 24 * 3600),
    });
    expect(cookie.attributes.domain).toBeUndefined();
  });

  it('R14 the table keeps the selector and the SHA-256 of the validator, never the validator', async () => {
    const { remember } = await rememberedLogin(t, 'u1');
    const [selector, validator] = remember.split('.');
    const [row] = await tokenRows(t);
    expect(row.selector).toBe(selector);
    expect(row.user_id).toBe('u1');
    expect(row.validator_hash).toEqual(createHash('sha256').update(validator).digest());
    const everything = await t.dataSource.query(
      `SELECT count(*)::int AS n FROM "remember_me_token" r WHERE row_to_json(r)::text LIKE '%' || $1 || '%'`,
      [validator],
    );
    expect(everything[0].n).toBe(0);
  });

  it('R14 without a session cookie the remember-me cookie gives a new session and a rotated validator', async () => {
    const { session, remember } = await rememberedLogin(t, 'u1');
    t.clock.advance(DAY);
    const response = await withRemember(t, remember);
    expect(response.status).toBe(200);
    expect(response.body.userId).toBe('u1');
    const newSession = sessionCookies(response)[0].value;
    expect(newSession).not.toBe(session);
    const [rotated] = rememberCookies(response);
    expect(rotated.value.split('.')[0]).toBe(remember.split('.')[0]);
    expect(rotated.value.split('.')[1]).not.toBe(remember.split('.')[1]);
    const use = await request(t.url).get('/private').set('Cookie', `${COOKIE}=${newSession}`);
    expect(use.body.userId).toBe('u1');
  });

  it('R14 an idle-expired session is replaced from the remember-me cookie', async () => {
    const { session, remember } = await rememberedLogin(t, 'u1');
    t.clock.advance(31 * MINUTE);
    const response = await request(t.url)
      .get('/private')
      .set('Cookie', `${COOKIE}=${session}; ${REMEMBER}=${remember}`);
    expect(response.status).toBe(200);
    expect(response.body.userId).toBe('u1');
  });

  it('R12 a session started from remember-me is not fresh until the user signs in again', async () => {
    const { remember } = await rememberedLogin(t, 'u1');
    t.clock.advance(DAY);
    const restored = await withRemember(t, remember);
    const session = sessionCookies(restored)[0].value;
    const sensitive = await request(t.url).post('/sensitive').set('Cookie', `${COOKIE}=${session}`);
    expect(sensitive.status).toBe(401);
    expect(sensitive.body.code).toBe('reauth_required');
    const again = await request(t.url)
      .post('/login')
      .set('Cookie', `${COOKIE}=${session}`)
      .send({ userId: 'u1' });
    const fresh = sessionCookies(again)[0].value;
    expect(fresh).not.toBe(session);
    expect(
      (await request(t.url).post('/sensitive').set('Cookie', `${COOKIE}=${fresh}`)).status,
    ).toBe(200);
  });

  it('R14 replaying a used validator after the grace period is theft: 401, family and sessions revoked, event', async () => {
    const { remember } = await rememberedLogin(t, 'u1');
    const other = await rememberedLogin(t, 'u1', 'Safari/17 (iPhone)');
    t.clock.advance(DAY);
    const legit = await withRemember(t, remember);
    const legitSession = sessionCookies(legit)[0].value;
    t.clock.advance(61 * SECOND);

    const replay = await withRemember(t, remember).set('User-Agent', 'thief');
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('remember_me_theft');
    expect(rememberCookies(replay)[0].attributes['max-age']).toBe('0');
    const [selector] = remember.split('.');
    expect((await tokenRows(t)).map((row: { selector: string }) => row.selector)).not.toContain(
      selector,
    );
    for (const session of [legitSession, other.session]) {
      const next = await request(t.url).get('/private').set('Cookie', `${COOKIE}=${session}`);
      expect(next.body.code).toBe('session_revoked');
    }
    const [event] = theftEvents();
    expect(event).toMatchObject({ userId: 'u1', request: { userAgent: 'thief' } });
    expect(event.revokedSessions).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(event)).not.toContain(remember.split('.')[1]);
    expect(JSON.stringify(event)).not.toContain(selector);
  });

  it('R14 a wrong validator for a known selector is theft too', async () => {
    const { session, remember } = await rememberedLogin(t, 'u1');
    const forged = `${remember.split('.')[0]}.${'A'.repeat(42)}A`;
    const response = await withRemember(t, forged);
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('remember_me_theft');
    expect(
      (await request(t.url).get('/private').set('Cookie', `${COOKIE}=${session}`)).status,
    ).toBe(401);
  });

  it('R14 two parallel requests with the same cookie raise no false theft alarm', async () => {
    const { remember } = await rememberedLogin(t, 'u1');
    t.clock.advance(DAY);
    const pending = Array.from({ length: 5 }, () =>
      withRemember(t, remember, '/private/gated').then((response) => response),
    );
    await t.gate.arrived(5);
    t.gate.open();
    const responses = await Promise.all(pending);
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200, 200]);
    expect(theftEvents()).toHaveLength(0);
    const values = new Set(responses.map((response) => rememberCookies(response)[0].value));
    expect(values.size).toBe(1);
    expect(await tokenRows(t)).toHaveLength(1);
  });

  it('R14 within the grace period the previous validator gets the current cookie again', async () => {
    const { remember } = await rememberedLogin(t, 'u1');
    t.clock.advance(DAY);
    const first = await withRemember(t, remember);
    const current = rememberCookies(first)[0].value;
    t.clock.advance(30 * SECOND);
    const late = await withRemember(t, remember);
    expect(late.status).toBe(200);
    expect(rememberCookies(late)[0].value).toBe(current);
    expect(theftEvents()).toHaveLength(0);
  });

  it.each([
    ['garbage', 'not-a-token'],
    ['no validator', 'AAAAAAAAAAAAAAAA.'],
    ['SQL', `' OR '1'='1.${'A'.repeat(43)}`],
    ['unknown selector', `${'A'.repeat(16)}.${'A'.repeat(43)}`],
    ['overlong', 'A'.repeat(4000)],
  ])(
    'R14 R16 a malformed or unknown cookie (%s) is ignored and cleared, no 5xx',
    async (_, value) => {
      const open = await request(t.url).get('/public').set('Cookie', `${REMEMBER}=${value}`);
      expect(open.status).toBe(200);
      expect(open.body.userId).toBeNull();
      expect(rememberCookies(open)[0]?.attributes['max-age']).toBe('0');
      const closed = await request(t.url).get('/private').set('Cookie', `${REMEMBER}=${value}`);
      expect(closed.status).toBe(401);
      expect(closed.body.code).toBe('session_required');
    },
  );

  it('R14 an expired token is ignored and deleted; GC removes expired tokens', async () => {
    const first = await rememberedLogin(t, 'u1');
    await rememberedLogin(t, 'u2');
    t.clock.advance(31 * DAY);
    const response = await withRemember(t, first.remember);
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('session_required');
    expect(await tokenRows(t)).toHaveLength(1);
    expect(await t.app.get(SessionGarbageCollector).collect()).toBeGreaterThanOrEqual(1);
    expect(await tokenRows(t)).toHaveLength(0);
  });

  it('R14 logout forgets this device; logout-all and a password change forget every device', async () => {
    const laptop = await rememberedLogin(t, 'u1');
    await rememberedLogin(t, 'u1');
    const logout = await request(t.url)
      .post('/logout')
      .set('Cookie', `${COOKIE}=${laptop.session}; ${REMEMBER}=${laptop.remember}`);
    expect(logout.status).toBe(204);
    expect(rememberCookies(logout)[0].attributes['max-age']).toBe('0');
    expect(await tokenRows(t)).toHaveLength(1);

    const again = await rememberedLogin(t, 'u1');
    expect(await tokenRows(t)).toHaveLength(2);
    await request(t.url).post('/logout-all').set('Cookie', `${COOKIE}=${again.session}`);
    expect(await tokenRows(t)).toHaveLength(0);

    const a = await rememberedLogin(t, 'u1');
    const b = await rememberedLogin(t, 'u1');
    const changed = await request(t.url)
      .post('/password')
      .set('Cookie', `${COOKIE}=${a.session}; ${REMEMBER}=${a.remember}`);
    expect(changed.body).toEqual({ ended: 1 });
    expect(await tokenRows(t)).toHaveLength(0);
    const renewed = sessionCookies(changed)[0].value;
    expect(renewed).not.toBe(a.session);
    expect(
      (await request(t.url).get('/private').set('Cookie', `${COOKIE}=${renewed}`)).status,
    ).toBe(200);
    expect(
      (await request(t.url).get('/private').set('Cookie', `${COOKIE}=${b.session}`)).body.code,
    ).toBe('session_revoked');
    expect((await withRemember(t, b.remember)).status).toBe(401);
  });

  it('R14 users list their remembered devices and revoke one', async () => {
    const laptop = await rememberedLogin(
      t,
      'u1',
      'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
    );
    const phone = await rememberedLogin(
      t,
      'u1',
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1',
    );
    const list = await request(t.url)
      .get('/remembered')
      .set('Cookie', `${COOKIE}=${laptop.session}`);
    expect(list.body.map((device: { device: string }) => device.device).sort()).toEqual([
      'Firefox on Linux',
      'Safari on iOS',
    ]);
    expect(JSON.stringify(list.body)).not.toContain(phone.remember.split('.')[0]);
    const phoneHandle = list.body.find(
      (d: { device: string }) => d.device === 'Safari on iOS',
    ).handle;
    const revoked = await request(t.url)
      .delete(`/remembered/${phoneHandle}`)
      .set('Cookie', `${COOKIE}=${laptop.session}`);
    expect(revoked.status).toBe(204);
    expect((await withRemember(t, phone.remember)).status).toBe(401);
    const foreign = await request(t.url)
      .delete(`/remembered/${phoneHandle}`)
      .set('Cookie', `${COOKIE}=${(await rememberedLogin(t, 'u2')).session}`);
    expect(foreign.status).toBe(404);
  });

  it('R11 a remembered device keeps one entry in the session list across restorations', async () => {
    const { remember } = await rememberedLogin(t, 'u1');
    t.clock.advance(DAY);
    const first = await withRemember(t, remember);
    const current = rememberCookies(first)[0].value;
    t.clock.advance(DAY);
    const second = await withRemember(t, current);
    const session = sessionCookies(second)[0].value;
    const list = await request(t.url).get('/sessions').set('Cookie', `${COOKIE}=${session}`);
    expect(list.body).toHaveLength(1);
    expect(list.body[0].authenticatedAt).toBeNull();
  });
});
