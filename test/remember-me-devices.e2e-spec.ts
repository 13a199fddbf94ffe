import request from 'supertest';
import { ADAPTERS, TestApp, useTestApp } from './support/test-app';
import { COOKIE, issuedCookies, parseSetCookies, REMEMBER_COOKIE } from './support/http-client';

/**
 * Issue 11, section 2 (and the remember-me items of section 4), from the attacker's side: a
 * thief who copied only the victim's remember-me cookie (never the session cookie) must get a
 * session of its own, visible in the victim's device list as another device, ended by every
 * revocation the victim has, and never able to restore again once the victim acted. A selector
 * alone (a cookie with the victim's selector and a wrong validator) is not a capability.
 */

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;

const LAPTOP = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const PHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1';
const THIEF = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 thief';

/**
 * A well-formed validator that is not the victim's: 32 bytes in canonical base64url (a value that
 * is not canonical would be dropped as malformed before any look-up and prove nothing).
 */
const WRONG_VALIDATOR = Buffer.alloc(32, 0x5a).toString('base64url');

interface ListEntry {
  handle: string;
  current: boolean;
  authenticatedAt: string | null;
  userAgent: string | null;
}

/** The event section 2 adds (not in the package's event union yet, so typed here). */
interface RestoredWhileLiveEvent {
  type: 'remember_me.restored_while_live';
  at: Date;
  request: { ip: string | null; userAgent: string | null };
  userId: string;
  handle: string;
  sessions: { idHash: string; handle: string; userId: string | null; obsoletedAt: Date | null }[];
}

/**
 * A browser that keeps both cookies, as a real one does: the session cookie and the remember-me
 * cookie are sent when held, replaced on Set-Cookie and dropped when cleared (Max-Age=0).
 */
class Device {
  session: string | null = null;
  remember: string | null = null;

  constructor(
    private readonly t: TestApp,
    readonly agent: string,
  ) {}

  /** A browser that signed in as `userId` (with "remember me" unless told otherwise). */
  static async signedIn(t: TestApp, agent: string, userId: string, rememberMe = true) {
    const device = new Device(t, agent);
    await device.signIn(userId, rememberMe);
    return device;
  }

  /** A thief's browser holding a copy of a remember-me cookie and nothing else. */
  static withCopiedRememberMe(t: TestApp, remember: string, agent = THIEF): Device {
    const device = new Device(t, agent);
    device.remember = remember;
    return device;
  }

  private cookieHeader(): string {
    const parts: string[] = [];
    if (this.session) parts.push(`${COOKIE}=${this.session}`);
    if (this.remember) parts.push(`${REMEMBER_COOKIE}=${this.remember}`);
    return parts.join('; ');
  }

  private track(response: request.Response): request.Response {
    for (const cookie of parseSetCookies(response.headers['set-cookie'])) {
      const value = cookie.attributes['max-age'] === '0' ? null : cookie.value;
      if (cookie.name === COOKIE) this.session = value;
      if (cookie.name === REMEMBER_COOKIE) this.remember = value;
    }
    return response;
  }

  private async send(test: request.Test, body?: object): Promise<request.Response> {
    test.set('User-Agent', this.agent);
    const cookies = this.cookieHeader();
    if (cookies) test.set('Cookie', cookies);
    return this.track(await (body === undefined ? test : test.send(body)));
  }

  get(path: string) {
    return this.send(request(this.t.url).get(path));
  }

  post(path: string, body: object = {}) {
    return this.send(request(this.t.url).post(path), body);
  }

  delete(path: string) {
    return this.send(request(this.t.url).delete(path));
  }

  /** Signs in with "remember me"; returns the session's handle. */
  async signIn(userId: string, rememberMe = true): Promise<string> {
    const response = await this.post('/login', { userId, rememberMe });
    expect(response.status).toBe(200);
    expect(this.session).not.toBeNull();
    if (rememberMe) expect(this.remember).not.toBeNull();
    return response.body.handle;
  }

  /** The browser was closed: the session cookie (no Max-Age) is gone, the remember-me one stays. */
  closeBrowser(): void {
    this.session = null;
  }
}

/** A request carrying only a remember-me cookie, as a browser that was closed sends it. */
function withRemember(t: TestApp, remember: string, agent = THIEF) {
  return request(t.url)
    .get('/private')
    .set('User-Agent', agent)
    .set('Cookie', `${REMEMBER_COOKIE}=${remember}`);
}

/** Asserts that a remember-me cookie restores nothing: anonymous, 401, no session cookie. */
async function expectNoRestore(t: TestApp, remember: string) {
  const response = await withRemember(t, remember);
  expect(response.status).toBe(401);
  expect(response.body.code).toBe('session_required');
  expect(issuedCookies(response)).toEqual([]);
}

async function selectorsOf(t: TestApp, userId: string): Promise<string[]> {
  const rows: { selector: string }[] = await t.dataSource.query(
    `SELECT selector FROM "remember_me_token" WHERE user_id = $1 ORDER BY selector`,
    [userId],
  );
  return rows.map((row) => row.selector);
}

const selectorOf = (remember: string) => remember.split('.')[0];

describe.each(ADAPTERS)('R23 remember-me: one device entry per session (%s)', (adapter) => {
  const t = useTestApp(adapter, { options: { gcInterval: false } });

  const restoredWhileLive = () =>
    (t.events as unknown as { type: string }[]).filter(
      (event) => event.type === 'remember_me.restored_while_live',
    ) as unknown as RestoredWhileLiveEvent[];

  /** The victim signs in with "remember me"; the thief copies the remember-me cookie only. */
  async function victimAndThief(userId = 'u1') {
    const victim = new Device(t, LAPTOP);
    const victimHandle = await victim.signIn(userId);
    const thief = Device.withCopiedRememberMe(t, victim.remember!);
    return { victim, victimHandle, thief };
  }

  /** The thief restores a session from the copied cookie; returns the restored session's handle. */
  async function thiefRestores(thief: Device, userId = 'u1'): Promise<string> {
    expect(thief.session).toBeNull();
    const restored = await thief.get('/private');
    expect(restored.status).toBe(200);
    expect(restored.body.userId).toBe(userId);
    expect(thief.session).not.toBeNull();
    return restored.body.handle;
  }

  /**
   * The thief's restored session is revoked, no remember-me token of u1 is left, and the copied
   * cookie (`stolenRemember`, as the thief's restore left it) restores nothing any more.
   */
  async function expectThiefEnded(thief: Device, stolenRemember: string) {
    const ride = await thief.get('/private');
    expect(ride.status).toBe(401);
    expect(ride.body.code).toBe('session_revoked');
    expect(await selectorsOf(t, 'u1')).toEqual([]);
    await expectNoRestore(t, stolenRemember);
  }

  /** u1 remembered on a laptop and on a phone, and u2 (Bob) remembered on a laptop of his own. */
  async function laptopPhoneAndBob() {
    const laptop = await Device.signedIn(t, LAPTOP, 'u1');
    const phone = await Device.signedIn(t, PHONE, 'u1');
    const bob = await Device.signedIn(t, LAPTOP, 'u2');
    return { laptop, phone, bob };
  }

  /** The remember-me selectors u1 and u2 hold in the database. */
  async function selectorsOfBoth() {
    return { u1: await selectorsOf(t, 'u1'), u2: await selectorsOf(t, 'u2') };
  }

  /** A day later, with the browser closed in between, the device's remember-me cookie restores u1. */
  async function expectRestoredNextDay(device: Device) {
    t.clock.advance(DAY);
    device.closeBrowser();
    const restored = await device.get('/private');
    expect(restored.status).toBe(200);
    expect(restored.body.userId).toBe('u1');
  }

  /**
   * The victim (u1, remembered) and an attacker signed in as u2 without "remember me" whose
   * remember-me cookie is forged: the victim's selector with a well-formed wrong validator.
   */
  async function victimAndForger() {
    const victim = await Device.signedIn(t, LAPTOP, 'u1');
    const before = await selectorsOf(t, 'u1');
    // The attacker is signed in as themselves, so no restore (and no theft check) happens.
    const attacker = await Device.signedIn(t, THIEF, 'u2', false);
    attacker.remember = `${selectorOf(victim.remember!)}.${WRONG_VALIDATOR}`;
    return { victim, before, attacker };
  }

  it('R23 R11 a restore from a copied remember-me cookie is its own entry: its own handle, exactly one current entry for each side', async () => {
    const { victim, victimHandle, thief } = await victimAndThief();
    const thiefHandle = await thiefRestores(thief);
    expect(thiefHandle).not.toBe(victimHandle);

    const victimList = await victim.get('/sessions');
    expect(victimList.status).toBe(200);
    const victimEntries = victimList.body as ListEntry[];
    expect(victimEntries.map((entry) => entry.handle).sort()).toEqual(
      [victimHandle, thiefHandle].sort(),
    );
    expect(victimEntries.filter((entry) => entry.current).map((entry) => entry.handle)).toEqual([
      victimHandle,
    ]);
    const thiefEntry = victimEntries.find((entry) => entry.handle === thiefHandle)!;
    expect(thiefEntry).toMatchObject({ current: false, authenticatedAt: null, userAgent: THIEF });

    const thiefList = await thief.get('/sessions');
    const thiefEntries = thiefList.body as ListEntry[];
    expect(thiefEntries).toHaveLength(2);
    expect(thiefEntries.filter((entry) => entry.current).map((entry) => entry.handle)).toEqual([
      thiefHandle,
    ]);
  });

  it.each([
    {
      // The victim's cookie holds a validator the thief's restore replaced: no token is spared.
      name: "R23 R11 the victim's revoke-others ends the thief's restored session and deletes the token the thief holds",
      path: '/sessions/revoke-others',
      withPhone: false,
      ended: 1,
    },
    {
      name: "R23 R14 the victim's password change ends the thief's session and every remember-me token",
      path: '/password',
      withPhone: true,
      ended: 2,
    },
  ])('$name', async ({ path, withPhone, ended }) => {
    const { victim, thief } = await victimAndThief();
    const phone = withPhone ? await Device.signedIn(t, PHONE, 'u1') : null;
    await thiefRestores(thief);
    const stolenRemember = thief.remember!;

    const response = await victim.post(path);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ ended });

    await expectThiefEnded(thief, stolenRemember);
    if (phone) await expectNoRestore(t, phone.remember!);
    expect((await victim.get('/private')).status).toBe(200);
  });

  it("R23 R11 revoking the thief's entry from the victim's device list ends it, and the thief cannot restore again", async () => {
    const { victim, victimHandle, thief } = await victimAndThief();
    const thiefHandle = await thiefRestores(thief);
    const stolenRemember = thief.remember!;

    const list = (await victim.get('/sessions')).body as ListEntry[];
    const others = list.filter((entry) => !entry.current);
    expect(others.map((entry) => entry.handle)).toEqual([thiefHandle]);

    const revoked = await victim.delete(`/sessions/${others[0].handle}`);
    expect(revoked.status).toBe(204);

    await expectThiefEnded(thief, stolenRemember);

    const mine = await victim.get('/private');
    expect(mine.status).toBe(200);
    expect(mine.body.handle).toBe(victimHandle);
    expect(((await victim.get('/sessions')).body as ListEntry[]).map((e) => e.handle)).toEqual([
      victimHandle,
    ]);
  });

  it('R23 R14 a restore while a session of the same remembered device is live emits remember_me.restored_while_live', async () => {
    const { victim, victimHandle, thief } = await victimAndThief();
    const other = await Device.signedIn(t, PHONE, 'u1', false);
    const thiefHandle = await thiefRestores(thief);

    const events = restoredWhileLive();
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event).toMatchObject({
      userId: 'u1',
      handle: victimHandle,
      request: { userAgent: THIEF },
    });
    const live = event.sessions.map((session) => session.handle);
    expect(live).toContain(victimHandle);
    expect(live).not.toContain(thiefHandle);
    // Only the remembered device's sessions: another live login of the user is not one of them.
    expect(live).not.toContain((await other.get('/private')).body.handle);
    for (const session of event.sessions) {
      expect(session).toMatchObject({ userId: 'u1', obsoletedAt: null });
    }
    const serialized = JSON.stringify(event);
    expect(serialized).not.toContain(victim.session!);
    expect(serialized).not.toContain(victim.remember!.split('.')[1]);
    expect(serialized).not.toContain(thief.remember!.split('.')[1]);
  });

  it('R23 R14 a restore when nothing of the remembered device is live emits no restored_while_live', async () => {
    const laptop = await Device.signedIn(t, LAPTOP, 'u1');
    t.clock.advance(DAY);
    // Another login of the same user is live; the remembered device's session expired long ago.
    await Device.signedIn(t, PHONE, 'u1', false);
    laptop.closeBrowser();

    const restored = await laptop.get('/private');
    expect(restored.status).toBe(200);
    expect(restored.body.userId).toBe('u1');
    expect(restoredWhileLive()).toEqual([]);

    // The next day the restored session expired too: a second restore emits nothing either.
    await expectRestoredNextDay(laptop);
    expect(restoredWhileLive()).toEqual([]);
  });

  it("R23 R11 revoke-others keeps the caller's own remember-me token (current validator presented) and deletes everyone else's", async () => {
    const { laptop, phone, bob } = await laptopPhoneAndBob();

    const revoked = await laptop.post('/sessions/revoke-others');
    expect(revoked.body).toEqual({ ended: 1 });
    expect(await selectorsOfBoth()).toEqual({
      u1: [selectorOf(laptop.remember!)],
      u2: [selectorOf(bob.remember!)],
    });

    await expectRestoredNextDay(laptop);
    await expectNoRestore(t, phone.remember!);
  });

  it("R23 R11 revoke-others from a restored session keeps that device's token: the caller presents its current validator", async () => {
    const laptop = await Device.signedIn(t, LAPTOP, 'u1');
    const phone = await Device.signedIn(t, PHONE, 'u1');
    t.clock.advance(DAY);
    laptop.closeBrowser();
    phone.closeBrowser();
    expect((await phone.get('/private')).status).toBe(200);
    expect((await laptop.get('/private')).status).toBe(200);

    const revoked = await laptop.post('/sessions/revoke-others');
    expect(revoked.status).toBe(200);
    expect(await selectorsOf(t, 'u1')).toEqual([selectorOf(laptop.remember!)]);
    expect((await phone.get('/private')).body.code).toBe('session_revoked');

    await expectRestoredNextDay(laptop);
    await expectNoRestore(t, phone.remember!);
  });

  it("R14 a selector alone is not a capability: another user's logout carrying the victim's selector with a wrong validator deletes nothing", async () => {
    const { victim, before, attacker } = await victimAndForger();
    expect(before).toEqual([selectorOf(victim.remember!)]);
    expect(Buffer.from(WRONG_VALIDATOR, 'base64url').toString('base64url')).toBe(WRONG_VALIDATOR);
    const logout = await attacker.post('/logout');
    expect(logout.status).toBe(204);

    expect(await selectorsOf(t, 'u1')).toEqual(before);
    expect((await victim.get('/private')).status).toBe(200);
    await expectRestoredNextDay(victim);
  });

  it("R14 a selector alone is not a capability: another user's remember-me login carrying the victim's selector with a wrong validator leaves the victim's token", async () => {
    const { victim, before, attacker } = await victimAndForger();
    const login = await attacker.post('/login', { userId: 'u2', rememberMe: true });
    expect(login.status).toBe(200);

    expect(await selectorsOf(t, 'u1')).toEqual(before);
    expect(await selectorsOf(t, 'u2')).toEqual([selectorOf(attacker.remember!)]);
    expect((await victim.get('/private')).status).toBe(200);
  });

  it('R14 the theft response deletes every remember-me token of the user, not only the stolen one', async () => {
    const { laptop, phone, bob } = await laptopPhoneAndBob();
    const thief = Device.withCopiedRememberMe(t, laptop.remember!);

    t.clock.advance(DAY);
    await thiefRestores(thief);
    t.clock.advance(61 * SECOND);
    // The victim comes back with the validator the thief's restore replaced: theft detected.
    laptop.closeBrowser();
    const detected = await laptop.get('/private');
    expect(detected.status).toBe(401);
    expect(detected.body.code).toBe('remember_me_theft');

    expect(await selectorsOfBoth()).toEqual({ u1: [], u2: [selectorOf(bob.remember!)] });
    phone.closeBrowser();
    expect(phone.remember).not.toBeNull();
    await expectNoRestore(t, phone.remember!);
    thief.closeBrowser();
    await expectNoRestore(t, thief.remember!);
  });

  it('R14 the obsolete-access response (revoke-all) deletes every remember-me token of the user', async () => {
    const { laptop, phone, bob } = await laptopPhoneAndBob();
    const copiedSession = laptop.session!;

    const elevated = await laptop.post('/elevate');
    expect(elevated.status).toBe(200);
    expect(laptop.session).not.toBe(copiedSession);
    t.clock.advance(61 * SECOND);

    const late = await request(t.url)
      .get('/private')
      .set('User-Agent', THIEF)
      .set('Cookie', `${COOKIE}=${copiedSession}`);
    expect(late.status).toBe(401);
    expect(late.body.code).toBe('session_obsolete');

    expect(await selectorsOfBoth()).toEqual({ u1: [], u2: [selectorOf(bob.remember!)] });
    await expectNoRestore(t, laptop.remember!);
    await expectNoRestore(t, phone.remember!);
  });
});
