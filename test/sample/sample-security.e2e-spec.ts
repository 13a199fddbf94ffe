import { LoggerService } from '@nestjs/common';
import { ManualClock } from 'nest-session-security';
import request from 'supertest';
import { logLine } from '../../sample/audit/log-line';
import { clientAddressKey } from '../../sample/auth/client-address';
import { signInThrottleFromEnv } from '../../sample/config/sign-in-throttle.config';
import { SampleStartupError } from '../../sample/sample-startup.error';
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
const SECOND = 1000;
const MINUTE = 60 * SECOND;

const ALICE = { username: 'alice', password: 'alice-demo-password' };
const BOB = { username: 'bob', password: 'bob-demo-password' };
const WRONG = 'not-the-password';

interface LogEntry {
  level: 'log' | 'warn' | 'debug' | 'error' | 'verbose' | 'fatal';
  message: string;
  context: unknown;
}

/** Everything the application logs, as `app.useLogger` hands it over. */
class CapturingLogger implements LoggerService {
  readonly entries: LogEntry[] = [];

  log(message: unknown, context?: unknown): void {
    this.keep('log', message, context);
  }
  warn(message: unknown, context?: unknown): void {
    this.keep('warn', message, context);
  }
  debug(message: unknown, context?: unknown): void {
    this.keep('debug', message, context);
  }
  error(message: unknown, context?: unknown): void {
    this.keep('error', message, context);
  }
  verbose(message: unknown, context?: unknown): void {
    this.keep('verbose', message, context);
  }
  fatal(message: unknown, context?: unknown): void {
    this.keep('fatal', message, context);
  }

  /** The lines of the security log whose type is `type`. */
  security(type: string): LogEntry[] {
    return this.entries.filter(
      (entry) => entry.context === 'SecurityEvents' && entry.message.startsWith(`${type} `),
    );
  }

  /** The one line of `type`, failing when there is none or more than one. */
  only(type: string): LogEntry {
    const lines = this.security(type);
    expect(lines.map((line) => line.message)).toHaveLength(1);
    return lines[0];
  }

  /** No line of any context contains one of `secrets` (tokens, cookie values, their parts). */
  expectNone(secrets: (string | null | undefined)[]): void {
    const everything = this.entries.map((entry) => entry.message).join('\n');
    for (const secret of secrets) {
      expect(secret).toBeTruthy();
      expect(everything).not.toContain(secret);
    }
  }

  private keep(level: LogEntry['level'], message: unknown, context: unknown): void {
    this.entries.push({ level, message: String(message), context });
  }
}

/** The value and its parts (a remember-me cookie is `selector.validator`). */
function withParts(value: string | null | undefined): string[] {
  if (!value) throw new Error('expected a cookie value');
  return [value, ...value.split('.')];
}

let database: SampleDatabase;

beforeAll(async () => {
  database = await SampleDatabase.create('security');
});
afterAll(() => database?.drop());

describe.each(SAMPLE_ADAPTERS)('sample security log (%s)', (adapter) => {
  let sample: SampleApp;
  const clock = new ManualClock(T0);
  let logs: CapturingLogger;
  const client = (agent?: string) => new SampleClient(sample.url, agent);

  async function signedIn(user = ALICE, agent?: string, rememberMe?: boolean) {
    const browser = client(agent);
    await browser.signIn(user.username, user.password, rememberMe);
    const me = (await browser.get('/api/me')).body as {
      user: { id: string };
      session: { handle: string };
    };
    return { browser, userId: me.user.id, handle: me.session.handle };
  }

  beforeAll(async () => {
    sample = await startSample(adapter, { databaseUrl: database.url, clock });
  });
  afterAll(() => sample?.close());
  beforeEach(async () => {
    clock.set(T0);
    await sample.dataSource.query(`TRUNCATE "session", "remember_me_token"`);
    logs = new CapturingLogger();
    sample.app.useLogger(logs);
  });

  it('a sign-in: one info line with the user, the handle, the address and the user agent; no token', async () => {
    const { browser, userId, handle } = await signedIn(ALICE, USER_AGENTS.firefoxWindows);
    const line = logs.only('session.authenticated');
    expect(line.level).toBe('log');
    expect(line.message).toContain(`user=${userId} handle=${handle} via=sign-in`);
    expect(line.message).toMatch(/ ip=\S*127\.0\.0\.1 /);
    expect(line.message).toContain(`ua="${USER_AGENTS.firefoxWindows}"`);
    expect(line.message).not.toContain('\n');
    const token = browser.token;
    await browser.post('/api/auth/logout');
    expect(logs.only('session.logged_out')).toMatchObject({
      level: 'log',
      message: expect.stringContaining(`user=${userId} handle=${handle}`),
    });
    logs.expectNone([token, ALICE.password]);
  });

  it('an obsolete-ID attack: a warning with the user, the old handle and the attacker, no token', async () => {
    const { browser, userId } = await signedIn(ALICE);
    const stolen = browser.token;
    // Signing in again gives the session a new ID; the old one is obsolete.
    await browser.signIn(ALICE.username, ALICE.password);
    clock.advance(61 * SECOND);
    const replay = await request(sample.url)
      .get('/api/me')
      .set('Cookie', `${SAMPLE_COOKIE}=${stolen}`)
      .set('User-Agent', 'attacker/1.0');
    expect(replay.status).toBe(401);
    const line = logs.only('session.obsolete_access');
    expect(line.level).toBe('warn');
    expect(line.message).toContain(`user=${userId} handle=`);
    expect(line.message).toMatch(/ response=(revoke-all|deny) /);
    expect(line.message).toContain('ua=attacker/1.0');
    logs.expectNone([stolen, browser.token]);
  });

  it('a remember-me theft: a warning with the user, the device and the thief, no cookie value', async () => {
    const { browser, userId } = await signedIn(ALICE, USER_AGENTS.firefoxWindows, true);
    const copied = browser.cookies.get(REMEMBER_ME_COOKIE);
    // The session expires; the device signs in again with the cookie, which is then renewed.
    clock.advance(31 * MINUTE);
    browser.cookies.delete(SAMPLE_COOKIE);
    expect((await browser.get('/api/me')).status).toBe(200);
    clock.advance(61 * SECOND);
    const theft = await request(sample.url)
      .get('/api/me')
      .set('Cookie', `${REMEMBER_ME_COOKIE}=${copied}`)
      .set('User-Agent', 'thief/2.0');
    expectDenied(theft, 401, 'remember_me_theft');
    const line = logs.only('remember_me.theft');
    expect(line.level).toBe('warn');
    expect(line.message).toContain(`user=${userId} handle=`);
    expect(line.message).toMatch(/ revoked=\d+ /);
    expect(line.message).toContain('ua=thief/2.0');
    logs.expectNone([
      ...withParts(copied),
      ...withParts(browser.cookies.get(REMEMBER_ME_COOKIE)),
      browser.token,
    ]);
  });

  it('a CSRF refusal: a warning with the reason, the method, the user and the session', async () => {
    const { browser, userId, handle } = await signedIn(ALICE);
    const forged = await request(sample.url)
      .post('/api/sessions/revoke-others')
      .set('Cookie', `${SAMPLE_COOKIE}=${browser.token}`)
      .set('User-Agent', 'forger/3.0')
      .send({});
    expectDenied(forged, 403, 'csrf_token_invalid');
    const line = logs.only('csrf.rejected');
    expect(line.level).toBe('warn');
    expect(line.message).toContain(`user=${userId} handle=${handle}`);
    expect(line.message).toContain('reason=missing-token method=POST');
    expect(line.message).toContain('ua=forger/3.0');
    logs.expectNone([browser.token]);
  });

  it('a failed sign-in: an info line with the username tried and the client, never the password', async () => {
    const response = await client('probe/1.0').post('/api/auth/login', {
      username: 'alice',
      password: WRONG,
    });
    expectDenied(response, 401, 'invalid_credentials');
    expect(logs.only('sign_in.failed')).toMatchObject({
      level: 'log',
      message: expect.stringMatching(/^sign_in\.failed username=alice ip=\S+ ua=probe\/1\.0$/),
    });
    logs.expectNone([WRONG]);
  });
});

describe('security log lines', () => {
  it('a value a client chose cannot break the line or forge another one (log injection)', () => {
    const ua = 'x\nsession.authenticated user=admin "quoted" \u2028 \u0085';
    const line = logLine('csrf.rejected', { reason: 'missing-token', user: null, ua });
    expect(line).toBe(
      'csrf.rejected reason=missing-token ua="x\\nsession.authenticated user=admin \\"quoted\\" \\u2028 \\u0085"',
    );
    expect(logLine('t', { ua: 'a'.repeat(500) })).toBe(`t ua=${'a'.repeat(200)}...`);
  });
});

describe('sign-in throttle: what an address is', () => {
  it('IPv4 as it is (mapped IPv6 too); IPv6 by its /64, so one client cannot rotate through it', () => {
    expect(clientAddressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(clientAddressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientAddressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientAddressKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(clientAddressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientAddressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientAddressKey('::1')).toBe('0:0:0:0::/64');
    expect(clientAddressKey('64:ff9b::192.0.2.7')).toBe('64:ff9b:0:0::/64');
    expect(clientAddressKey(undefined)).toBe('unknown');
  });
});

describe('sign-in throttle settings', () => {
  it('defaults: 5 failures per username, 20 per address, within 15 minutes', () => {
    expect(signInThrottleFromEnv({})).toEqual({
      failuresPerAccount: 5,
      failuresPerAddress: 20,
      windowMs: 15 * MINUTE,
    });
  });

  it('from the environment; 0 turns a limit off; a typo stops the start', () => {
    expect(
      signInThrottleFromEnv({
        SIGN_IN_FAILURES_PER_ACCOUNT: '3',
        SIGN_IN_FAILURES_PER_ADDRESS: '0',
        SIGN_IN_FAILURE_WINDOW: '1h',
      }),
    ).toEqual({ failuresPerAccount: 3, failuresPerAddress: 0, windowMs: 60 * MINUTE });
    for (const env of [
      { SIGN_IN_FAILURES_PER_ACCOUNT: 'five' },
      { SIGN_IN_FAILURES_PER_ADDRESS: '-1' },
      { SIGN_IN_FAILURE_WINDOW: '15 minutes' },
      { SIGN_IN_FAILURE_WINDOW: '0' },
    ]) {
      expect(() => signInThrottleFromEnv(env)).toThrow(SampleStartupError);
    }
  });
});

describe.each(SAMPLE_ADAPTERS)('sample sign-in throttle (%s)', (adapter) => {
  let sample: SampleApp;
  let logs: CapturingLogger;
  const client = (agent?: string) => new SampleClient(sample.url, agent);
  const login = (username: string, password: string) =>
    client().post('/api/auth/login', { username, password });

  /** A fresh app (the counters live in its memory) with `env` set while it starts. */
  async function start(env: Record<string, string> = {}): Promise<void> {
    const saved = Object.keys(env).map((name) => [name, process.env[name]] as const);
    Object.assign(process.env, env);
    try {
      sample = await startSample(adapter, { databaseUrl: database.url });
    } finally {
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    logs = new CapturingLogger();
    sample.app.useLogger(logs);
  }

  function expectThrottled(response: request.Response): void {
    expectDenied(response, 429, 'sign_in_throttled');
    expect(response.body.message).toBe('Too many failed sign-ins. Try again in 15 minutes.');
    const retryAfter = Number(response.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(14 * 60);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
  }

  afterEach(() => sample?.close());

  it('5 failures for one username: the 6th attempt is 429 sign_in_throttled with Retry-After, with the right password too', async () => {
    await start();
    for (let i = 0; i < 5; i++)
      expectDenied(await login('alice', WRONG), 401, 'invalid_credentials');
    expectThrottled(await login('alice', WRONG));
    expectThrottled(await login('alice', ALICE.password));
    expect(logs.only('sign_in.blocked')).toMatchObject({
      level: 'warn',
      message: expect.stringMatching(
        /^sign_in\.blocked scope=account username=alice failures=5 seconds=\d+ ip=/,
      ),
    });
    expect(logs.security('sign_in.throttled')).toHaveLength(2);
    // Only the five checked attempts counted as failures.
    expect(logs.security('sign_in.failed')).toHaveLength(5);
  });

  it('another username from the same address still signs in, until the address limit', async () => {
    await start({ SIGN_IN_FAILURES_PER_ADDRESS: '8' });
    for (let i = 0; i < 5; i++)
      expectDenied(await login('alice', WRONG), 401, 'invalid_credentials');
    expectThrottled(await login('alice', ALICE.password));
    expect((await login('bob', BOB.password)).status).toBe(200);
    // Three more failures from this address, each for a username of its own: 8 in all.
    for (const username of ['mallory', 'trudy', 'eve']) {
      expectDenied(await login(username, WRONG), 401, 'invalid_credentials');
    }
    expectThrottled(await login('bob', BOB.password));
    expect(logs.security('sign_in.blocked').map((line) => line.message)).toEqual([
      expect.stringMatching(/^sign_in\.blocked scope=account username=alice /),
      expect.stringMatching(
        /^sign_in\.blocked scope=address username=eve failures=8 seconds=\d+ ip=/,
      ),
    ]);
  });

  it('successful sign-ins do not count: 4 failures, 6 sign-ins, then the 5th failure is still a 401', async () => {
    await start();
    for (let i = 0; i < 4; i++)
      expectDenied(await login('alice', WRONG), 401, 'invalid_credentials');
    for (let i = 0; i < 6; i++) expect((await login('alice', ALICE.password)).status).toBe(200);
    expectDenied(await login('alice', WRONG), 401, 'invalid_credentials');
    expectThrottled(await login('alice', ALICE.password));
  });

  it('parallel guesses are checked one at a time: of 12 at once, exactly 5 are answered 401', async () => {
    await start();
    const responses = await Promise.all(Array.from({ length: 12 }, () => login('alice', WRONG)));
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 401)).toHaveLength(5);
    expect(statuses.filter((status) => status === 429)).toHaveLength(7);
  });

  it('400 for a malformed body and 403 without the CSRF token, as before: neither counts', async () => {
    await start({ SIGN_IN_FAILURES_PER_ACCOUNT: '1' });
    expectDenied(
      await client().post('/api/auth/login', { username: 'alice' }),
      400,
      'invalid_body',
    );
    const noToken = await request(sample.url)
      .post('/api/auth/login')
      .send({ username: 'alice', password: WRONG });
    expect(noToken.status).toBe(403);
    expect((await login('alice', ALICE.password)).status).toBe(200);
  });
});

/** The `name=value` pair of the session cookie a response sets. */
function sessionPair(response: request.Response): string {
  const lines = (response.headers['set-cookie'] as unknown as string[] | undefined) ?? [];
  const pair = lines
    .map((line) => line.split(';')[0])
    .find((p) => p.startsWith(`${SAMPLE_COOKIE}=`));
  if (!pair) throw new Error('the response sets no session cookie');
  return pair;
}

describe.each(SAMPLE_ADAPTERS)('sample anonymous CSRF (%s)', (adapter) => {
  let sample: SampleApp;
  const rows = async () =>
    (await sample.dataSource.query(`SELECT count(*)::int AS n FROM "session"`))[0].n as number;
  /** `GET /api/csrf` without cookies: the pre-session cookie and the token. */
  const anonymousToken = async () => {
    const response = await request(sample.url).get('/api/csrf');
    expect(response.status).toBe(200);
    return { cookie: sessionPair(response), token: response.body.token as string };
  };
  const signIn = (cookie: string | null, token: string | null) => {
    let test = request(sample.url).post('/api/auth/login');
    if (cookie) test = test.set('Cookie', cookie);
    if (token) test = test.set('x-csrf-token', token);
    return test.send(ALICE);
  };

  beforeAll(async () => {
    sample = await startSample(adapter, { databaseUrl: database.url });
  });
  afterAll(() => sample?.close());
  beforeEach(() => sample.dataSource.query(`TRUNCATE "session", "remember_me_token"`));

  it('2,000 cookie-less GET /api/csrf (a crawler loading the page) store no row', async () => {
    for (let batch = 0; batch < 40; batch++) {
      const issued = await Promise.all(Array.from({ length: 50 }, anonymousToken));
      for (const { cookie } of issued) expect(cookie).toMatch(/^__Host-sid=p\./);
    }
    expect(await rows()).toBe(0);
  });

  it('sign-in needs the token of its own pre-session: missing, foreign or the cookie itself -> 403', async () => {
    const mine = await anonymousToken();
    const other = await anonymousToken();
    expectDenied(await signIn(mine.cookie, null), 403, 'csrf_token_invalid');
    expectDenied(await signIn(mine.cookie, other.token), 403, 'csrf_token_invalid');
    expectDenied(await signIn(null, mine.token), 403, 'csrf_token_invalid');
    expectDenied(await signIn(mine.cookie, mine.cookie.split('=')[1]), 403, 'csrf_token_invalid');
    expect(await rows()).toBe(0);
    expect((await signIn(mine.cookie, mine.token)).status).toBe(200);
    expect(await rows()).toBe(1);
  });

  it("the page's token works before and after the cart stores the session, and for sign-in", async () => {
    const { cookie, token } = await anonymousToken();
    const add = (sessionCookie: string) =>
      request(sample.url)
        .post('/api/cart/items')
        .set('Cookie', sessionCookie)
        .set('x-csrf-token', token)
        .send({ sku: 'book', qty: 1 });
    const first = await add(cookie);
    expect(first.status).toBe(201);
    const stored = sessionPair(first);
    expect(stored).toMatch(/^__Host-sid=[A-Za-z0-9_-]{43}$/);
    expect((await add(stored)).status).toBe(201);
    const signedIn = await signIn(stored, token);
    expect(signedIn.status).toBe(200);
    const after = sessionPair(signedIn);
    const cart = await request(sample.url).get('/api/cart').set('Cookie', after);
    expect(cart.body.items).toEqual([{ sku: 'book', qty: 2 }]);
  });
});
