/**
 * Issue 11, section 1: an attacker who holds an OLD session ID (a planted pre-login ID, the
 * previous user's cookie, a copied cookie that follows rotations) gets nothing of the new
 * session (R21), while a real tab racing a same-user regeneration keeps working (R3).
 *
 * Written from the attacker's side: the attacker keeps a copy of a token and replays it by
 * hand; victim and attacker are told apart by their user agents in the events.
 */
import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  SessionGuard,
  SessionModule,
  SessionModuleOptions,
  SessionOptionsError,
} from 'nest-session-security';
import { DataSource } from 'typeorm';
import {
  ADAPTERS,
  clockAt,
  eventsOf,
  LooseEvent,
  T0,
  TestApp,
  useTestApp,
} from './support/test-app';
import {
  COOKIE,
  countRows,
  idHash,
  issuedCookies,
  liveSessions,
  rowFor,
  sessionCookies,
} from './support/http-client';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;

const VICTIM_UA = 'victim-browser/1.0';
const THIEF_UA = 'thief-tool/6.6';

/**
 * A client with its own user agent. `get`/`post` keep the session cookie as a browser does;
 * `replayGet`/`replayPost` send a kept copy of a token and adopt nothing from the response.
 */
class Client {
  token: string | null = null;

  constructor(
    readonly url: string,
    readonly userAgent: string,
  ) {}

  private build(method: 'get' | 'post', path: string, token: string | null): request.Test {
    const test = request(this.url)[method](path).set('User-Agent', this.userAgent);
    return token ? test.set('Cookie', `${COOKIE}=${token}`) : test;
  }

  private track(response: request.Response): request.Response {
    for (const cookie of sessionCookies(response)) {
      this.token = cookie.attributes['max-age'] === '0' ? null : cookie.value;
    }
    return response;
  }

  async get(path: string): Promise<request.Response> {
    return this.track(await this.build('get', path, this.token));
  }

  async post(path: string, body: object = {}): Promise<request.Response> {
    return this.track(await this.build('post', path, this.token).send(body));
  }

  replayGet(path: string, token: string): Promise<request.Response> {
    return this.build('get', path, token).then((response) => response);
  }

  replayPost(path: string, token: string, body: object = {}): Promise<request.Response> {
    return this.build('post', path, token)
      .send(body)
      .then((response) => response);
  }
}

/** A client with its own user agent that signed in (`POST /login`) with `body`. */
async function signedIn(t: TestApp, userAgent: string, body: object): Promise<Client> {
  const client = new Client(t.url, userAgent);
  await client.post('/login', body);
  return client;
}

/**
 * Sends a request that regenerates `client`'s session (a sign-in, a password change): it
 * succeeds and the client holds a token other than `old`, returned as `successor`.
 */
async function regenerate(
  client: Client,
  old: string,
  path: string,
  body: object = {},
): Promise<{ response: request.Response; successor: string }> {
  const response = await client.post(path, body);
  expect(response.status).toBe(200);
  const successor = client.token!;
  expect(successor).not.toBe(old);
  return { response, successor };
}

/** Session tokens a response hands out (every session Set-Cookie but a clearing one). */
function issuedTokens(response: request.Response): string[] {
  return issuedCookies(response);
}

/**
 * The response treats the old ID as no session at all: it clears the session cookie
 * (Max-Age=0), issues no token, and nowhere (headers or body) carries the successor's token.
 */
function expectNothingHandedOver(response: request.Response, successor: string): void {
  expect(issuedTokens(response)).toEqual([]);
  const cleared = sessionCookies(response).filter((c) => c.attributes['max-age'] === '0');
  expect(cleared).toHaveLength(1);
  expect(cleared[0].value).not.toBe(successor);
  expect(JSON.stringify(response.headers)).not.toContain(successor);
  expect(response.text ?? '').not.toContain(successor);
}

/** An old ID replayed on a route that needs a session: 401 session_required, nothing handed over. */
function expectSessionRequired(response: request.Response, successor: string): void {
  expect(response.status).toBe(401);
  expect(response.body.code).toBe('session_required');
  expectNothingHandedOver(response, successor);
}

/**
 * `old` replayed within grace on a route that needs a session (401 session_required) and on a
 * public one (200 as an anonymous visitor with no data): neither hands anything of the
 * successor over. Returns both responses.
 */
async function expectReplaysReachNothing(
  client: Client,
  old: string,
  successor: string,
): Promise<{ replay: request.Response; publicReplay: request.Response }> {
  const replay = await client.replayGet('/private', old);
  expectSessionRequired(replay, successor);
  const publicReplay = await client.replayGet('/public', old);
  expect(publicReplay.status).toBe(200);
  expect(publicReplay.body.userId).toBeNull();
  expect(publicReplay.body.data).toEqual({});
  expectNothingHandedOver(publicReplay, successor);
  return { replay, publicReplay };
}

/**
 * The replay of `old` within grace was reported as refused (a login replaced it; the thief's
 * user agent, the old session's user and the new one's) and nothing was forwarded. Returns the
 * first `session.obsolete_refused` event.
 */
function expectRefusedWithinGrace(
  t: TestApp,
  old: string,
  users: { obsolete: string | null; current: string },
): LooseEvent {
  const refused = eventsOf(t, 'session.obsolete_refused');
  expect(refused.length).toBeGreaterThanOrEqual(1);
  expect(refused[0]).toMatchObject({
    request: { userAgent: THIEF_UA },
    obsolete: { idHash: idHash(old), userId: users.obsolete },
    userId: users.current,
    regeneration: 'login',
  });
  expect(eventsOf(t, 'session.obsolete_forwarded')).toHaveLength(0);
  return refused[0];
}

/** No event carries any of the raw tokens (R17). */
function expectNoRawTokens(t: TestApp, tokens: (string | null | undefined)[]): void {
  const serialized = JSON.stringify(t.events);
  for (const token of tokens) if (token) expect(serialized).not.toContain(token);
}

async function activeRows(t: TestApp, userId: string): Promise<number> {
  return (await liveSessions(t.dataSource, userId)).length;
}

/** The stored row of a token with every column, the new ones of issue 11 included. */
async function storedRow(t: TestApp, token: string): Promise<Record<string, unknown>> {
  const row = await rowFor(t.dataSource, token);
  expect(row).toBeDefined();
  return row as unknown as Record<string, unknown>;
}

/** The row of an ID a login replaced: marked so, and its data moved on to the successor. */
async function expectReplacedAtLogin(t: TestApp, token: string): Promise<void> {
  const old = await storedRow(t, token);
  expect(old.obsoleted_by).toBe('login');
  expect(old.data).toEqual({});
}

describe.each(ADAPTERS)('old-token attacks (%s)', (adapter) => {
  const t = useTestApp(adapter);

  describe('R21 an ID replaced across an authentication boundary reaches nothing within grace', () => {
    it('R21 (a) fixation at login: the planted pre-login ID replayed within grace is anonymous, gets no token, and is reported', async () => {
      const attacker = new Client(t.url, THIEF_UA);
      await attacker.post('/public/data', { visited: true });
      const planted = attacker.token!;
      expect(planted).toBeTruthy();

      // The victim's browser carries the planted ID, shops and signs in on it.
      const victim = new Client(t.url, VICTIM_UA);
      victim.token = planted;
      expect((await victim.post('/public/data', { cart: ['book'] })).status).toBe(200);
      expect(victim.token).toBe(planted);
      const { successor } = await regenerate(victim, planted, '/login', { userId: 'victim' });

      t.clock.advance(10 * SECOND);
      await expectReplaysReachNothing(attacker, planted, successor);

      const refused = expectRefusedWithinGrace(t, planted, { obsolete: null, current: 'victim' });
      expect(refused).toMatchObject({ at: t.clock.now() });
      expect((refused.request as { ip: string | null }).ip).toMatch(/127\.0\.0\.1/);

      // The refusal within grace costs the victim nothing; the old row keeps nothing.
      const own = await victim.get('/private');
      expect(own.status).toBe(200);
      expect(own.body).toMatchObject({ userId: 'victim', data: { cart: ['book'] } });
      await expectReplacedAtLogin(t, planted);

      // After grace: the existing attack response.
      clockAt(t, 61 * SECOND);
      const late = await attacker.replayGet('/private', planted);
      expect(late.status).toBe(401);
      expect(late.body.code).toBe('session_obsolete');
      expect(issuedTokens(late)).toEqual([]);
      expect(eventsOf(t, 'session.obsolete_access')[0]).toMatchObject({
        userId: 'victim',
        request: { userAgent: THIEF_UA },
      });
      expect((await victim.get('/private')).status).toBe(401);
      expectNoRawTokens(t, [planted, successor]);
    });

    it("R21 (b) user switch on one browser: Alice's kept cookie within grace gets nothing of Bob's session", async () => {
      const shared = new Client(t.url, VICTIM_UA);
      await shared.post('/login', { userId: 'alice', set: { note: 'alice-secret' } });
      const alice = shared.token!;
      const aliceCopy = new Client(t.url, THIEF_UA);

      const { response: switched, successor: bob } = await regenerate(shared, alice, '/login', {
        userId: 'bob',
        set: { note: 'bob-secret' },
      });
      expect(switched.body.userId).toBe('bob');

      t.clock.advance(10 * SECOND);
      const { replay, publicReplay } = await expectReplaysReachNothing(aliceCopy, alice, bob);
      expect(replay.text).not.toContain('bob-secret');
      expect(publicReplay.text).not.toContain('bob-secret');
      expect(publicReplay.text).not.toContain('alice-secret');

      expectRefusedWithinGrace(t, alice, { obsolete: 'alice', current: 'bob' });

      const own = await shared.get('/private');
      expect(own.status).toBe(200);
      expect(own.body).toMatchObject({ userId: 'bob', data: { note: 'bob-secret' } });
      await expectReplacedAtLogin(t, alice);
      expectNoRawTokens(t, [alice, bob]);
    });

    it('R21 (d) re-authentication: the old ID within grace passes neither @RequireFreshAuth nor @Authenticated and gets no fresh session', async () => {
      const victim = await signedIn(t, VICTIM_UA, { userId: 'u1' });
      const stolen = victim.token!;
      const thief = new Client(t.url, THIEF_UA);

      // The login is stale for /sensitive (5m); the victim re-authenticates on the session.
      t.clock.advance(10 * MINUTE);
      expect((await victim.post('/sensitive')).body.code).toBe('reauth_required');
      const { successor: fresh } = await regenerate(victim, stolen, '/login', { userId: 'u1' });
      expect((await victim.post('/sensitive')).status).toBe(200);

      t.clock.advance(5 * SECOND);
      expectSessionRequired(await thief.replayPost('/sensitive', stolen), fresh);
      expectSessionRequired(await thief.replayGet('/private', stolen), fresh);
      expectRefusedWithinGrace(t, stolen, { obsolete: 'u1', current: 'u1' });
      expect((await victim.post('/sensitive')).status).toBe(200);
      expectNoRawTokens(t, [stolen, fresh]);
    });

    it('R21 (e) password change: the pre-change cookie within grace is anonymous and gets no new token', async () => {
      const victim = await signedIn(t, VICTIM_UA, { userId: 'u1', set: { theme: 'dark' } });
      const stolen = victim.token!;
      const thief = new Client(t.url, THIEF_UA);

      t.clock.advance(MINUTE);
      const { successor: after } = await regenerate(victim, stolen, '/password');

      t.clock.advance(5 * SECOND);
      await expectReplaysReachNothing(thief, stolen, after);
      expectRefusedWithinGrace(t, stolen, { obsolete: 'u1', current: 'u1' });
      expect((await victim.get('/private')).status).toBe(200);
      expectNoRawTokens(t, [stolen, after]);
    });
  });

  describe('R21 (c) a thief following rotations with a copied cookie', () => {
    it('R21 (c) the old ID is forwarded only until the successor is presented plus the in-flight leeway, then it is the attack response', async () => {
      const victim = await signedIn(t, VICTIM_UA, { userId: 'u1' });
      const copied = victim.token!;
      const thief = new Client(t.url, THIEF_UA);

      // Rotation is due (default 15m): the victim's request rotates, the next one presents it.
      clockAt(t, 15 * MINUTE);
      const rotation = await victim.get('/private');
      expect(rotation.status).toBe(200);
      const successor = victim.token!;
      expect(successor).not.toBe(copied);
      expect((await victim.get('/private')).status).toBe(200);

      // +1s: inside the in-flight leeway (5s) the old ID may still be forwarded, visibly.
      clockAt(t, 15 * MINUTE + SECOND);
      const forwarded = await thief.replayGet('/private', copied);
      expect(forwarded.status).toBe(200);
      expect(forwarded.body.userId).toBe('u1');
      expect(issuedTokens(forwarded)).toEqual([successor]);
      const [event] = eventsOf(t, 'session.obsolete_forwarded');
      expect(event).toMatchObject({
        at: t.clock.now(),
        request: { userAgent: THIEF_UA },
        obsolete: { idHash: idHash(copied), userId: 'u1' },
        successor: { idHash: idHash(successor), userId: 'u1', userAgent: VICTIM_UA },
        regeneration: 'rotation',
      });

      // +6s after the successor was presented: the attack response.
      clockAt(t, 15 * MINUTE + 6 * SECOND);
      const attack = await thief.replayGet('/private', copied);
      expect(attack.status).toBe(401);
      expect(attack.body.code).toBe('session_obsolete');
      expect(issuedTokens(attack)).toEqual([]);
      expect(sessionCookies(attack)[0]?.attributes['max-age']).toBe('0');
      expect(eventsOf(t, 'session.obsolete_access')[0]).toMatchObject({
        userId: 'u1',
        response: 'revoke-all',
        request: { userAgent: THIEF_UA },
        obsolete: { idHash: idHash(copied) },
      });
      expect(await activeRows(t, 'u1')).toBe(0);
      expect((await victim.get('/private')).status).toBe(401);
      // What the thief was forwarded earlier is gone too.
      expect((await thief.replayGet('/private', successor)).status).toBe(401);
      const presented = await storedRow(t, successor);
      expect(new Date(presented.presented_at as string | Date).getTime()).toBe(
        T0.getTime() + 15 * MINUTE,
      );
      expect((await storedRow(t, copied)).obsoleted_by).toBe('rotation');
      expectNoRawTokens(t, [copied, successor]);
    });

    it('R21 (c) a whole run: a thief browsing beside a busy victim across rotations is reported and ends up denied', async () => {
      const victim = await signedIn(t, VICTIM_UA, { userId: 'u1' });
      const thief = new Client(t.url, THIEF_UA);
      thief.token = victim.token;
      const tokens = new Set<string>([victim.token!]);
      const statuses: number[] = [];
      const browse = async (client: Client, ms: number) => {
        clockAt(t, ms);
        const response = await client.get('/private');
        statuses.push(response.status);
        if (client.token) tokens.add(client.token);
        return response;
      };

      // Both browse once a minute before the first rotation.
      for (let minute = 1; minute < 15; minute++) {
        expect((await browse(victim, minute * MINUTE)).status).toBe(200);
        expect((await browse(thief, minute * MINUTE + 30 * SECOND)).status).toBe(200);
      }
      // First rotation: the thief comes in before the victim presented the successor.
      await browse(victim, 15 * MINUTE);
      const followed = await browse(thief, 15 * MINUTE + 2 * SECOND);
      expect(followed.status).toBe(200);
      expect(thief.token).toBe(victim.token);
      await browse(victim, 15 * MINUTE + 20 * SECOND);
      for (let minute = 16; minute < 30; minute++) {
        expect((await browse(victim, minute * MINUTE)).status).toBe(200);
        expect((await browse(thief, minute * MINUTE + 30 * SECOND)).status).toBe(200);
      }
      // Second rotation: the busy victim presents the successor at once; the thief comes later.
      await browse(victim, 30 * MINUTE);
      await browse(victim, 30 * MINUTE + SECOND);
      const denied = await browse(thief, 30 * MINUTE + 10 * SECOND);
      expect(denied.status).toBe(401);
      expect(denied.body.code).toBe('session_obsolete');
      expect(thief.token).toBeNull();

      expect(statuses.filter((status) => status >= 500)).toEqual([]);
      const forwarded = eventsOf(t, 'session.obsolete_forwarded');
      const attacks = eventsOf(t, 'session.obsolete_access');
      expect(forwarded.length + attacks.length).toBeGreaterThanOrEqual(1);
      expect(forwarded[0]).toMatchObject({
        request: { userAgent: THIEF_UA },
        successor: { userAgent: VICTIM_UA },
        regeneration: 'rotation',
      });
      expect(attacks).toHaveLength(1);
      expect(attacks[0]).toMatchObject({ userId: 'u1', request: { userAgent: THIEF_UA } });
      expect(await activeRows(t, 'u1')).toBe(0);
      expect((await victim.get('/private')).status).toBe(401);
      expectNoRawTokens(t, [...tokens]);
    });
  });

  describe('R3 forwarding of a same-user regeneration, no false alarm for a real tab', () => {
    it('R3 privilege change with a lost Set-Cookie: the old ID is forwarded (successor re-sent) until grace ends while the successor is never presented', async () => {
      const tab = await signedIn(t, VICTIM_UA, { userId: 'u1', set: { theme: 'dark' } });
      const old = tab.token!;
      const elevated = await tab.replayPost('/elevate', old);
      expect(elevated.status).toBe(200);
      const [successor] = issuedTokens(elevated);
      expect(successor).toBeTruthy();
      expect(successor).not.toBe(old);

      for (const second of [10, 30, 59]) {
        clockAt(t, second * SECOND);
        const lost = await tab.replayGet('/private', old);
        expect(lost.status).toBe(200);
        expect(lost.body).toMatchObject({ userId: 'u1', data: { theme: 'dark' } });
        expect(issuedTokens(lost)).toEqual([successor]);
      }
      const forwarded = eventsOf(t, 'session.obsolete_forwarded');
      expect(forwarded).toHaveLength(3);
      expect(forwarded[0]).toMatchObject({
        request: { userAgent: VICTIM_UA },
        obsolete: { idHash: idHash(old), userId: 'u1' },
        successor: { idHash: idHash(successor), userId: 'u1', userAgent: VICTIM_UA },
        regeneration: 'privilege',
      });
      expect(eventsOf(t, 'session.obsolete_access')).toHaveLength(0);
      expect(eventsOf(t, 'session.obsolete_refused')).toHaveLength(0);
      const row = await storedRow(t, successor);
      expect(row.presented_at).toBeNull();
      expect((await storedRow(t, old)).obsoleted_by).toBe('privilege');

      clockAt(t, 61 * SECOND);
      const late = await tab.replayGet('/private', old);
      expect(late.status).toBe(401);
      expect(late.body.code).toBe('session_obsolete');
      expectNoRawTokens(t, [old, successor]);
    });

    it('R3 privilege change: once the successor is presented, the old ID is forwarded within the leeway and refused after it', async () => {
      const tab = await signedIn(t, VICTIM_UA, { userId: 'u1' });
      const old = tab.token!;
      await tab.post('/elevate');
      const successor = tab.token!;
      clockAt(t, SECOND);
      expect((await tab.get('/private')).status).toBe(200);

      clockAt(t, 4 * SECOND);
      const inFlight = await tab.replayGet('/private', old);
      expect(inFlight.status).toBe(200);
      expect(issuedTokens(inFlight)).toEqual([successor]);

      clockAt(t, 7 * SECOND);
      const late = await tab.replayGet('/private', old);
      expect(late.status).toBe(401);
      expect(late.body.code).toBe('session_obsolete');
      expect(eventsOf(t, 'session.obsolete_forwarded')).toHaveLength(1);
      expect(eventsOf(t, 'session.obsolete_access')).toHaveLength(1);
      expect(await activeRows(t, 'u1')).toBe(0);
    });

    it('R3 a lost Set-Cookie of a periodic rotation keeps working within grace', async () => {
      const tab = await signedIn(t, VICTIM_UA, { userId: 'u1' });
      const old = tab.token!;
      clockAt(t, 15 * MINUTE);
      const rotation = await tab.replayGet('/private', old);
      const [successor] = issuedTokens(rotation);
      expect(successor).toBeTruthy();
      clockAt(t, 15 * MINUTE + 45 * SECOND);
      const lost = await tab.replayGet('/private', old);
      expect(lost.status).toBe(200);
      expect(issuedTokens(lost)).toEqual([successor]);
      expect(eventsOf(t, 'session.obsolete_forwarded')[0]).toMatchObject({
        regeneration: 'rotation',
      });
      expect(eventsOf(t, 'session.obsolete_access')).toHaveLength(0);
    });

    it('R3 ten parallel requests with the old ID racing a rotation: all 200, no 5xx, no third ID, no alarm', async () => {
      const tab = await signedIn(t, VICTIM_UA, { userId: 'u1' });
      const old = tab.token!;
      clockAt(t, 16 * MINUTE);
      const pending = Array.from({ length: 10 }, () =>
        request(t.url)
          .get('/private/gated')
          .set('User-Agent', VICTIM_UA)
          .set('Cookie', `${COOKIE}=${old}`)
          .then((response) => response),
      );
      await t.gate.arrived(10);
      t.gate.open();
      const responses = await Promise.all(pending);
      expect(responses.map((response) => response.status)).toEqual(Array(10).fill(200));
      const issued = new Set(responses.flatMap(issuedTokens));
      expect(issued.size).toBe(1);
      expect(issued.has(old)).toBe(false);
      expect(await activeRows(t, 'u1')).toBe(1);
      expect(await countRows(t.dataSource)).toBe(2);
      expect(eventsOf(t, 'session.obsolete_access')).toHaveLength(0);
      expect(eventsOf(t, 'session.obsolete_refused')).toHaveLength(0);
    });

    it('R3 requests already in flight with the old ID after the successor was presented: forwarded within the leeway, all 200, one successor', async () => {
      const tab = await signedIn(t, VICTIM_UA, { userId: 'u1' });
      const old = tab.token!;
      clockAt(t, 15 * MINUTE);
      await tab.get('/private');
      const successor = tab.token!;
      expect(successor).not.toBe(old);
      expect((await tab.get('/private')).status).toBe(200);

      clockAt(t, 15 * MINUTE + 2 * SECOND);
      const responses = await Promise.all(
        Array.from({ length: 10 }, () => tab.replayGet('/private', old)),
      );
      expect(responses.map((response) => response.status)).toEqual(Array(10).fill(200));
      expect(new Set(responses.flatMap(issuedTokens))).toEqual(new Set([successor]));
      expect(await activeRows(t, 'u1')).toBe(1);
      expect(eventsOf(t, 'session.obsolete_access')).toHaveLength(0);
      expect(eventsOf(t, 'session.obsolete_forwarded')).toHaveLength(10);
      expectNoRawTokens(t, [old, successor]);
    });
  });
});

/** Stands in for the data source where a test never reaches the database (start-up refusals). */
@Global()
@Module({ providers: [{ provide: DataSource, useValue: {} }], exports: [DataSource] })
class NoDatabaseModule {}

describe('R21 obsoleteGracePeriod and obsoleteInFlightLeeway are bounded at start-up', () => {
  async function startUpError(options: Record<string, unknown>): Promise<unknown> {
    return Test.createTestingModule({
      imports: [NoDatabaseModule, SessionModule.forRoot(options as SessionModuleOptions)],
      providers: [{ provide: APP_GUARD, useClass: SessionGuard }],
    })
      .compile()
      .then(
        async (moduleRef) => {
          await moduleRef.close();
          return null;
        },
        (error: unknown) => error,
      );
  }

  const refused: [string, Record<string, unknown>, string][] = [
    ['grace period of 16m (more than 15m)', { obsoleteGracePeriod: '16m' }, 'obsoleteGracePeriod'],
    [
      'in-flight leeway of 31s (more than 30s)',
      { obsoleteInFlightLeeway: '31s' },
      'obsoleteInFlightLeeway',
    ],
    [
      'in-flight leeway longer than the grace period',
      { obsoleteGracePeriod: '10s', obsoleteInFlightLeeway: '20s' },
      'obsoleteInFlightLeeway',
    ],
  ];

  it.each(refused)('R21 %s is a start-up error', async (_, options, option) => {
    const error = await startUpError(options);
    expect(error).toBeInstanceOf(SessionOptionsError);
    const message = (error as Error).message;
    expect(message).toContain(option);
    // Refused for its bound, not because the option is unknown.
    expect(message).not.toMatch(/not a known option/);
  });

  it('R21 the largest allowed values (grace 15m, leeway 30s) start', async () => {
    const error = await startUpError({ obsoleteGracePeriod: '15m', obsoleteInFlightLeeway: '30s' });
    expect(error).toBeNull();
  });
});
