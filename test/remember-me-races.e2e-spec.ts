import request from 'supertest';
import { PostgresRememberMeRepository, SessionModule } from 'nest-session-security';
import { DataSource } from 'typeorm';
import {
  Browser,
  COOKIE,
  issuedCookies,
  REMEMBER_COOKIE,
  sessionCookies,
} from './support/http-client';
import { OneShotLatch } from './support/one-shot-latch';
import {
  ADAPTERS,
  eventsOf,
  postgresSubclasses,
  storageOptions,
  useTestApp,
} from './support/test-app';

/*
 * Races of remember-me tokens with revocations, found by the model-based test (issue 16) and
 * pinned here with deterministic interleavings.
 */

async function tokensOf(t: { dataSource: DataSource }, userId: string): Promise<number> {
  const [{ count }] = (await t.dataSource.query(
    `SELECT count(*)::int AS count FROM "remember_me_token" WHERE user_id = $1`,
    [userId],
  )) as { count: number }[];
  return count;
}

/** Holds a restore after it rotated the validator. */
const latch = new OneShotLatch();
/** Holds a restore after it read the token, before it rotates the validator. */
const beforeRotation = new OneShotLatch();

/** The package's remember-me store, stopping around a validator rotation while a latch is armed. */
class LatchedRememberMeRepository extends PostgresRememberMeRepository {
  override async rotate(...args: Parameters<PostgresRememberMeRepository['rotate']>) {
    await beforeRotation.pass();
    const rotated = await super.rotate(...args);
    await latch.pass();
    return rotated;
  }
}

describe.each(ADAPTERS)('remember-me racing revocations (%s)', (adapter) => {
  const t = useTestApp(adapter, {
    sessionModule: SessionModule.forRoot({
      ...storageOptions(),
      csrf: { enabled: false },
      gcInterval: false,
      repositories: postgresSubclasses({ rememberMe: LatchedRememberMeRepository }),
    }),
  });

  it('R26 a remember-me token issued while "sign out everywhere" runs does not outlive it', async () => {
    const phone = new Browser(t.url);
    expect((await phone.post('/login', { userId: 'u1' })).status).toBe(200);
    const signingIn = request(t.url)
      .post('/login?gateRemember=1')
      .send({ userId: 'u1', rememberMe: true })
      .then((response) => response); // sent now: supertest sends when a result is asked for
    await t.gate.arrived(1);
    expect((await phone.post('/logout-all')).status).toBe(200);
    t.gate.open();
    const login = await signingIn;
    expect(login.status).toBe(200);
    expect(await tokensOf(t, 'u1')).toBe(0);
    const remembered = sessionCookies(login, REMEMBER_COOKIE).filter(
      (cookie) => cookie.attributes['max-age'] !== '0',
    );
    for (const cookie of remembered) {
      const restore = await request(t.url)
        .get('/private')
        .set('Cookie', `${REMEMBER_COOKIE}=${cookie.value}`);
      expect(restore.status).toBe(401);
    }
  });

  it('R26 a write whose restore was undone by a concurrent revocation is stored in a new anonymous session', async () => {
    const login = await request(t.url).post('/login').send({ userId: 'u1', rememberMe: true });
    const remember = sessionCookies(login, REMEMBER_COOKIE)[0].value;
    const laptop = new Browser(t.url);
    laptop.token = issuedCookies(login)[0];
    const [device] = (await laptop.get('/remembered')).body as { handle: string }[];
    const arrived = latch.arm();
    const writing = request(t.url)
      .post('/public/data')
      .set('Cookie', `${REMEMBER_COOKIE}=${remember}`)
      .send({ draft: 'kept' })
      .then((response) => response);
    await arrived;
    expect((await laptop.delete(`/remembered/${device.handle}`)).status).toBe(204);
    latch.open();
    const written = await writing;
    expect(written.status).toBe(200);
    const [token] = issuedCookies(written);
    expect(token).toBeDefined();
    const again = await request(t.url).get('/public').set('Cookie', `${COOKIE}=${token}`);
    expect(again.body).toMatchObject({ userId: null, data: { draft: 'kept' } });
    expect(await tokensOf(t, 'u1')).toBe(0);
  });

  it("R14 a remember-me cookie whose device is forgotten while its restore runs is no theft: the user's other sessions stay", async () => {
    const login = await request(t.url).post('/login').send({ userId: 'u1', rememberMe: true });
    const remember = sessionCookies(login, REMEMBER_COOKIE)[0].value;
    const phone = new Browser(t.url);
    expect((await phone.post('/login', { userId: 'u1' })).status).toBe(200);
    const [device] = (await phone.get('/remembered')).body as { handle: string }[];
    const arrived = beforeRotation.arm();
    const restoring = request(t.url)
      .get('/private')
      .set('Cookie', `${REMEMBER_COOKIE}=${remember}`)
      .then((response) => response);
    await arrived;
    expect((await phone.delete(`/remembered/${device.handle}`)).status).toBe(204);
    beforeRotation.open();
    const restore = await restoring;
    // As if the cookie had come after the device was forgotten: no session, no alarm.
    expect(restore.status).toBe(401);
    expect(restore.body.code).toBe('session_required');
    expect(sessionCookies(restore, REMEMBER_COOKIE)[0]?.attributes['max-age']).toBe('0');
    expect(eventsOf(t, 'remember_me.theft')).toHaveLength(0);
    expect((await phone.get('/private')).status).toBe(200);
  });
});
