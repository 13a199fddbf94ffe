import request from 'supertest';
import { ADAPTERS, useTestApp } from './support/test-app';
import { Browser, COOKIE, rowFor } from './support/http-client';

describe.each(ADAPTERS)('R18 race safety (%s)', (adapter) => {
  const t = useTestApp(adapter);

  it('R18 two concurrent requests that change different keys both keep their change', async () => {
    const browser = new Browser(t.url);
    await browser.post('/login', { userId: 'u1', set: { base: 0 } });
    const send = (body: object) =>
      request(t.url)
        .post('/private/data?gate=1')
        .set('Cookie', `${COOKIE}=${browser.token}`)
        .send(body);
    const first = send({ a: 1 });
    const second = send({ b: 2 });
    const both = Promise.all([first, second]);
    await t.gate.arrived(2);
    t.gate.open();
    const [one, two] = await both;
    expect(one.status).toBe(200);
    expect(two.status).toBe(200);
    expect((await rowFor(t.dataSource, browser.token!))?.data).toEqual({ base: 0, a: 1, b: 2 });
  });

  it('R18 a request that loaded the session before a logout does not bring it back', async () => {
    const browser = new Browser(t.url);
    await browser.post('/login', { userId: 'u1' });
    const token = browser.token!;
    const late = request(t.url)
      .post('/private/data?gate=1')
      .set('Cookie', `${COOKIE}=${token}`)
      .send({ late: true })
      .then((response) => response);
    await t.gate.arrived(1);
    const logout = await request(t.url).post('/logout').set('Cookie', `${COOKIE}=${token}`);
    expect(logout.status).toBe(204);
    t.gate.open();
    const response = await late;
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('session_ended');
    expect(await rowFor(t.dataSource, token)).toBeUndefined();
    const count = await t.dataSource.query(
      `SELECT count(*)::int AS n FROM "session" WHERE user_id = 'u1'`,
    );
    expect(count[0].n).toBe(0);
  });

  it('R21 a write with the pre-login ID that races a login is refused with 409 and writes nothing into the signed-in session', async () => {
    const browser = new Browser(t.url);
    await browser.post('/public/data', { cart: ['a'] });
    const anonymous = browser.token!;
    const late = request(t.url)
      .post('/public/data?gate=1')
      .set('Cookie', `${COOKIE}=${anonymous}`)
      .send({ note: 'late' })
      .then((response) => response);
    await t.gate.arrived(1);
    await browser.post('/login', { userId: 'u1' });
    t.gate.open();
    const response = await late;
    expect(response.status).toBe(409);
    expect(response.body.code).toBe('session_busy');
    // The browser's new cookie is left alone: this may be the same browser.
    expect(response.headers['set-cookie']).toBeUndefined();
    const row = await rowFor(t.dataSource, browser.token!);
    expect(row?.user_id).toBe('u1');
    expect(row?.data).toEqual({ cart: ['a'] });
    // The retry carries the new cookie and lands.
    expect((await browser.post('/public/data', { note: 'late' })).status).toBe(200);
    expect((await rowFor(t.dataSource, browser.token!))?.data).toEqual({
      cart: ['a'],
      note: 'late',
    });
  });
});
