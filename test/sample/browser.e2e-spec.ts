import { existsSync, mkdirSync } from 'node:fs';
import { IncomingMessage, Server, ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import { ManualClock } from 'nest-session-security';
import { UsersService } from '../../sample/users/users.service';
import {
  REMEMBER_ME_COOKIE,
  SAMPLE_ADAPTERS,
  SAMPLE_COOKIE,
  SampleApp,
  SampleDatabase,
  startSample,
  USER_AGENTS,
} from '../support/sample-app';

/**
 * The sample in a real browser: Debian's Chromium driven by playwright-core (no browser
 * download). Chromium treats http://localhost as a secure context, so the default cookie
 * (`__Host-sid`, Secure) works over plain http there: the app runs with its production cookie
 * settings.
 */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
// Relative to the repository root, where jest runs (no __dirname: the Nest 12 leg runs as ESM).
const ARTIFACTS = resolve('test-artifacts');
/** Set SAMPLE_SCREENSHOT=1 to refresh the README's picture of the signed-in page. */
const README_SCREENSHOT = resolve('sample/screenshot.png');

const ALICE = { username: 'alice', password: 'alice-demo-password' };

const hasChromium = existsSync(CHROMIUM);
const SKIPPED = `SKIPPED: ${CHROMIUM} not found (apt-get install -y chromium)`;
// Jest hides the titles of a file whose tests are all skipped: say it on the console too.
if (!hasChromium) console.warn(`browser end-to-end test ${SKIPPED}`);
const suite = hasChromium ? describe : describe.skip;
const title = hasChromium ? 'sample in Chromium (%s)' : `sample in Chromium (%s): ${SKIPPED}`;

let database: SampleDatabase;
let browser: Browser;

beforeAll(async () => {
  if (!hasChromium) return;
  database = await SampleDatabase.create('browser');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
  await database?.drop();
});

suite.each(SAMPLE_ADAPTERS)(title, (adapter) => {
  let sample: SampleApp;
  let base: string;
  // Starts at the real time (the browser shows dates) and moves only when a test says so.
  const clock = new ManualClock(new Date());
  const contexts: BrowserContext[] = [];
  const pages = new Map<string, Page>();
  /** Script errors of every page, including CSP violations (Chromium logs them to the console). */
  const problems: string[] = [];

  async function openPage(name: string, userAgent: string): Promise<Page> {
    const context = await browser.newContext({ userAgent, viewport: { width: 1000, height: 760 } });
    contexts.push(context);
    const page = await context.newPage();
    page.on('console', (message) => {
      // Failed requests (a 401 the page handles, the favicon's 404) are not problems.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
        problems.push(`${name}: ${message.text()}`);
      }
    });
    page.on('pageerror', (error) => problems.push(`${name}: ${error.message}`));
    pages.set(name, page);
    return page;
  }

  /** Runs `test`; on failure saves a screenshot of every page into test-artifacts/. */
  async function withScreenshots(test: string, body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (error) {
      mkdirSync(ARTIFACTS, { recursive: true });
      for (const [name, page] of pages) {
        const file = join(ARTIFACTS, `${test}-${adapter}-${name}.png`);
        await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
      }
      throw error;
    }
  }

  async function fillSignIn(page: Page, user: { username: string; password: string }) {
    await page.goto(`${base}/`);
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password').fill(user.password);
  }

  async function signIn(page: Page, user = ALICE): Promise<void> {
    await fillSignIn(page, user);
    await page.getByLabel('Remember me on this device').check();
    const login = page.waitForRequest((request) => request.url().endsWith('/api/auth/login'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    const sent = await login;
    expect(sent.postDataJSON()).toEqual({ ...user, rememberMe: true });
    expect(await sent.headerValue('x-csrf-token')).toMatch(/^\S{16,}$/);
    await page.getByRole('heading', { name: `Signed in as ${user.username}` }).waitFor();
  }

  beforeAll(async () => {
    sample = await startSample(adapter, { databaseUrl: database.url, clock });
    base = `http://localhost:${sample.port}`;
  });
  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
    pages.clear();
  });
  afterAll(() => sample?.close());
  beforeEach(async () => {
    await sample.dataSource.query(`TRUNCATE "session"`);
    problems.length = 0;
  });

  /** The text frames the page's WebSockets receive, and the URLs they were opened to. */
  function watchSockets(page: Page): { urls: string[]; frames: string[] } {
    const seen = { urls: [] as string[], frames: [] as string[] };
    page.on('websocket', (socket) => {
      seen.urls.push(socket.url());
      socket.on('framereceived', ({ payload }) => seen.frames.push(String(payload)));
    });
    return seen;
  }

  /** The page's notice reads `signed out: <code>` (then why, in words), and then the sign-in form. */
  async function signedOutLive(page: Page, code: string): Promise<void> {
    await page.getByText(`signed out: ${code}`).waitFor({ timeout: 5000 });
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.getByRole('status').innerText()).toMatch(
      new RegExp(`^signed out: ${code}\\b`),
    );
  }

  it('two devices of alice: the first signs the second out from the session list; the second shows "signed out: session_revoked" at once, without a reload by anyone', () =>
    withScreenshots('two-devices', async () => {
      const laptop = await openPage('laptop', USER_AGENTS.chromeLinux);
      const phone = await openPage('phone', USER_AGENTS.safariIphone);
      const phoneSockets = watchSockets(phone);
      await signIn(laptop);
      await signIn(phone);
      const phoneCookie = async () =>
        (await phone.context().cookies()).find((cookie) => cookie.name === SAMPLE_COOKIE)?.value;
      const revokedToken = await phoneCookie();
      // The signed-in page opened /ws on its own origin (the CSP allows it) and was greeted.
      const hello = JSON.stringify({ type: 'hello', user: 'alice' });
      expect(await phone.locator('main').getAttribute('data-socket')).toBe('/ws');
      for (let waited = 0; !phoneSockets.frames.includes(hello) && waited < 5000; waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(phoneSockets.frames).toContain(hello);
      expect(phoneSockets.urls).toContain(`ws://localhost:${sample.port}/ws`);

      await laptop.reload();
      const rows = laptop.locator('tbody tr');
      expect(await rows.count()).toBe(2);
      const current = laptop.locator('tbody tr[aria-current="true"]');
      expect(await current.innerText()).toContain('Chrome on Linux');
      expect(await current.innerText()).toContain('this device');
      if (process.env.SAMPLE_SCREENSHOT && adapter === 'express') {
        await laptop.screenshot({ path: README_SCREENSHOT, fullPage: true });
      }

      // From here on nothing touches the phone's page: whatever it shows, it found out itself.
      const phoneRequests: string[] = [];
      phone.on('request', (request) => phoneRequests.push(new URL(request.url()).pathname));
      await laptop.getByRole('button', { name: 'Sign out Safari on iOS' }).click();
      await laptop.getByText('Safari on iOS was signed out.').waitFor();
      expect(await rows.count()).toBe(1);

      await signedOutLive(phone, 'session_revoked');
      expect(phoneSockets.frames).toContain(
        JSON.stringify({ type: 'session.ended', code: 'session_revoked' }),
      );
      // The phone learnt it from its socket: its first request afterwards is the page's own
      // reload to show the sign-in form.
      expect(phoneRequests[0]).toBe('/');
      expect(await phone.getByRole('status').innerText()).toBe(
        'signed out: session_revoked. This device was signed out from another session. Sign in again.',
      );
      // The revoked cookie was cleared; the sign-in form's CSRF token started an anonymous one.
      expect(await phoneCookie()).not.toBe(revokedToken);

      const cookies = await laptop.context().cookies();
      const byName = (name: string) => cookies.find((cookie) => cookie.name === name);
      expect(byName(SAMPLE_COOKIE)).toEqual({
        name: '__Host-sid',
        value: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        domain: 'localhost', // host-only: a Domain attribute would show as '.localhost'
        path: '/',
        expires: -1, // a session cookie: gone when the browser closes
        httpOnly: true,
        secure: true,
        sameSite: 'Lax',
      });
      // "Remember me" was ticked: a second, persistent cookie, for 30 days.
      const days = (byName(REMEMBER_ME_COOKIE)!.expires * 1000 - Date.now()) / 86_400_000;
      expect(byName(REMEMBER_ME_COOKIE)).toEqual({
        name: '__Host-remember',
        value: expect.stringMatching(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/),
        domain: 'localhost',
        path: '/',
        expires: expect.any(Number),
        httpOnly: true,
        secure: true,
        sameSite: 'Lax',
      });
      expect(days).toBeGreaterThan(29.9);
      expect(days).toBeLessThanOrEqual(30);
      expect(cookies).toHaveLength(2);
      expect(problems).toEqual([]);
    }));

  /** How many remember-me tokens `username` has in the sample's database. */
  async function rememberedDevicesOf(username: string): Promise<number> {
    const rows: { n: number }[] = await sample.dataSource.query(
      `SELECT count(*)::int AS n FROM "remember_me_token" t
       JOIN "users" u ON u.id::text = t.user_id WHERE u.username = $1`,
      [username],
    );
    return rows[0].n;
  }

  it('a "sign out" button on every row but the current one; "sign out everywhere" ends every session and remembered device', () =>
    withScreenshots('sign-out-everywhere', async () => {
      const laptop = await openPage('laptop', USER_AGENTS.chromeLinux);
      const phone = await openPage('phone', USER_AGENTS.safariIphone);
      const desktop = await openPage('desktop', USER_AGENTS.firefoxWindows);
      await signIn(phone);
      await signIn(desktop);
      await signIn(laptop);
      expect(await rememberedDevicesOf('alice')).toBeGreaterThanOrEqual(3);

      const rows = laptop.locator('tbody tr');
      expect(await rows.count()).toBe(3);
      const current = laptop.locator('tbody tr[aria-current="true"]');
      expect(await current.count()).toBe(1);
      expect(await current.innerText()).toContain('Chrome on Linux');
      expect(await current.getByRole('button').count()).toBe(0);
      // One button per other session: rows - 1 in all, each naming its device.
      expect(await laptop.locator('tbody tr button').count()).toBe(2);
      const others = laptop.locator('tbody tr:not([aria-current])');
      for (let i = 0; i < (await others.count()); i++) {
        const buttons = others.nth(i).getByRole('button');
        expect(await buttons.count()).toBe(1);
        expect(await buttons.first().getAttribute('aria-label')).toMatch(
          /^Sign out (Safari on iOS|Firefox on Windows)$/,
        );
      }

      const everywhere = laptop.getByRole('button', { name: 'Sign out everywhere', exact: true });
      const sent = laptop.waitForRequest((r) => r.url().endsWith('/api/auth/logout-all'));
      const answered = laptop.waitForResponse((r) => r.url().endsWith('/api/auth/logout-all'));
      await everywhere.click();
      const call = await sent;
      expect(call.method()).toBe('POST');
      expect(await call.headerValue('x-csrf-token')).toMatch(/^\S{16,}$/);
      expect((await answered).status()).toBe(204);
      await laptop.getByRole('heading', { name: 'Sign in' }).waitFor();
      expect(await laptop.getByRole('status').innerText()).toBe(
        'You signed out on every device, and no device remembers you any more.',
      );
      const laptopCookies = await laptop.context().cookies();
      expect(laptopCookies.map((cookie) => cookie.name)).not.toContain(REMEMBER_ME_COOKIE);
      expect(await rememberedDevicesOf('alice')).toBe(0);

      // The other devices show it at once, and their remember-me cookies start nothing.
      for (const page of [phone, desktop]) {
        await signedOutLive(page, 'session_revoked');
        await page.reload();
        await page.getByRole('heading', { name: 'Sign in' }).waitFor();
        await page.reload();
        await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      }
      expect(problems).toEqual([]);
    }));

  it('R23 a browser restored from a copied remember-me cookie is another row with a "sign out" button, never a second "this device"', () =>
    withScreenshots('copied-remember-me', async () => {
      const laptop = await openPage('laptop', USER_AGENTS.chromeLinux);
      await signIn(laptop);
      const copied = (await laptop.context().cookies()).find(
        (cookie) => cookie.name === REMEMBER_ME_COOKIE,
      )!;
      const thief = await openPage('thief', USER_AGENTS.firefoxWindows);
      await thief.context().addCookies([
        {
          name: copied.name,
          value: copied.value,
          domain: 'localhost',
          path: '/',
          secure: true,
          httpOnly: true,
          sameSite: 'Lax',
        },
      ]);
      await thief.goto(`${base}/`);
      await thief.getByRole('heading', { name: 'Signed in as alice' }).waitFor();
      // What the thief's browser holds now: the validator its restore rotated in.
      const held = (await thief.context().cookies()).find(
        (cookie) => cookie.name === REMEMBER_ME_COOKIE,
      )!;
      expect(held.value).not.toBe(copied.value);
      const thiefCurrent = thief.locator('tbody tr[aria-current="true"]');
      expect(await thiefCurrent.count()).toBe(1);
      expect(await thiefCurrent.innerText()).toContain('Firefox on Windows');

      await laptop.reload();
      expect(await laptop.locator('tbody tr').count()).toBe(2);
      const current = laptop.locator('tbody tr[aria-current="true"]');
      expect(await current.count()).toBe(1);
      expect(await current.innerText()).toContain('Chrome on Linux');
      expect(await laptop.locator('tbody tr button').count()).toBe(1);

      await laptop.getByRole('button', { name: 'Sign out Firefox on Windows' }).click();
      await laptop.getByText('Firefox on Windows was signed out.').waitFor();
      expect(await laptop.locator('tbody tr').count()).toBe(1);

      // The thief is signed out at once, and the remember-me cookie it holds restores nothing.
      await signedOutLive(thief, 'session_revoked');
      await thief.context().addCookies([
        {
          name: held.name,
          value: held.value,
          domain: 'localhost',
          path: '/',
          secure: true,
          httpOnly: true,
          sameSite: 'Lax',
        },
      ]);
      await thief.reload();
      await thief.getByRole('heading', { name: 'Sign in' }).waitFor();
      expect(problems).toEqual([]);
    }));

  it('errors in words; a password change after 10 minutes signs in again first, then signs the other device out', () =>
    withScreenshots('password', async () => {
      const carol = { username: `carol-${adapter}`, password: 'carol-first-password' };
      await sample.app.get(UsersService).createIfMissing(carol.username, carol.password);
      const laptop = await openPage('laptop', USER_AGENTS.chromeLinux);
      const phone = await openPage('phone', USER_AGENTS.firefoxWindows);

      await fillSignIn(laptop, { ...carol, password: 'not-her-password' });
      await laptop.getByRole('button', { name: 'Sign in' }).click();
      await laptop.getByText('Wrong username or password.').waitFor();

      await signIn(laptop, carol);
      await signIn(phone, carol);
      const form = laptop.locator('#change-password');
      await laptop.getByLabel('Current password').fill('not-her-password');
      await laptop.getByLabel('New password').fill('carol-second-password');
      await laptop.getByRole('button', { name: 'Change password' }).click();
      await form.getByText('The current password is wrong.').waitFor();

      clock.advance(11 * 60_000); // past the 10 minutes the route allows since sign-in
      const calls: string[] = [];
      laptop.on('response', (response) => {
        const url = new URL(response.url());
        if (url.pathname.startsWith('/api/')) calls.push(`${response.status()} ${url.pathname}`);
      });
      await laptop.getByLabel('Current password').fill(carol.password);
      await laptop.getByRole('button', { name: 'Change password' }).click();
      await laptop.getByText('Your password was changed').waitFor();
      expect(calls.slice(0, 4)).toEqual([
        '401 /api/auth/password', // reauth_required
        '200 /api/auth/login', // signed in again with the current password just typed
        '200 /api/csrf', // the new session secret needs a new token
        '204 /api/auth/password',
      ]);
      expect(await laptop.locator('tbody tr').count()).toBe(1);

      await signedOutLive(phone, 'session_revoked');
      await fillSignIn(phone, carol);
      await phone.getByRole('button', { name: 'Sign in' }).click();
      await phone.getByText('Wrong username or password.').waitFor();
      expect(problems).toEqual([]);
    }));

  /** Holds the page's next request to `path` until `release()`, to look at the page meanwhile. */
  async function holdNextRequest(page: Page, path: string) {
    let arrived!: () => void;
    let release!: () => void;
    const hasArrived = new Promise<void>((resolve) => (arrived = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    await page.route(
      `**${path}`,
      async (route) => {
        arrived();
        await released;
        await route.continue();
      },
      { times: 1 },
    );
    return { arrived: hasArrived, release };
  }

  /**
   * Statuses the sample answers to `path` from now on, watched on the Node server itself: the
   * browser's own requests (the favicon's) are not page events in Playwright.
   */
  function watchAnswers(path: string): { statuses: number[]; stop(): void } {
    const server = sample.app.getHttpServer() as Server;
    const statuses: number[] = [];
    const onRequest = (request: IncomingMessage, response: ServerResponse) => {
      if (request.url === path) response.once('finish', () => statuses.push(response.statusCode));
    };
    server.on('request', onRequest);
    return { statuses, stop: () => server.off('request', onRequest) };
  }

  it('the browser asks for /favicon.ico and gets a 204 without a session, not a 404', () =>
    withScreenshots('favicon', async () => {
      const favicon = watchAnswers('/favicon.ico');
      try {
        const visitor = await openPage('visitor', USER_AGENTS.chromeLinux);
        const failed: string[] = [];
        visitor.on('console', (message) => {
          if (message.text().startsWith('Failed to load resource')) {
            failed.push(message.location().url);
          }
        });
        await visitor.goto(`${base}/`);
        await visitor.getByRole('heading', { name: 'Sign in' }).waitFor();
        for (let waited = 0; favicon.statuses.length === 0 && waited < 10_000; waited += 50) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect(favicon.statuses).toEqual([204]);
        expect(failed).toEqual([]);
        expect(problems).toEqual([]);
      } finally {
        favicon.stop();
      }
    }));

  it('sending a form again clears the old messages: the notice of the last page, the error of the last attempt', () =>
    withScreenshots('cleared-messages', async () => {
      const laptop = await openPage('laptop', USER_AGENTS.chromeLinux);
      await signIn(laptop);
      await laptop.getByRole('button', { name: 'Sign out', exact: true }).click();
      await laptop.getByRole('heading', { name: 'Sign in' }).waitFor();
      const notice = laptop.locator('#notice');
      expect(await notice.innerText()).toBe('You signed out.');
      const error = laptop.locator('#sign-in [role=alert]');

      await laptop.getByLabel('Username').fill(ALICE.username);
      await laptop.getByLabel('Password').fill('not-her-password');
      const first = await holdNextRequest(laptop, '/api/auth/login');
      await laptop.getByRole('button', { name: 'Sign in' }).click();
      await first.arrived;
      expect(await notice.isHidden()).toBe(true);
      first.release();
      await laptop.getByText('Wrong username or password.').waitFor();

      const second = await holdNextRequest(laptop, '/api/auth/login');
      await laptop.getByRole('button', { name: 'Sign in' }).click();
      await second.arrived;
      expect(await error.innerText()).toBe('');
      second.release();
      await laptop.getByText('Wrong username or password.').waitFor();
      expect(await notice.isHidden()).toBe(true);
      expect(problems).toEqual([]);
    }));
});
