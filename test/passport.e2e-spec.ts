import request from 'supertest';
import { SessionUserLoader } from 'nest-session-security';
import { ADAPTERS, eventsOf, TestApp, useTestApp } from './support/test-app';
import {
  ADA,
  ADA_PASSWORD,
  AuthController,
  PlainController,
  ProfileController,
  UsersLoader,
  UsersService,
  usersModule,
} from './support/passport-app';
import { Browser, countRows, issuedCookies, rowFor, sessionCookies } from './support/http-client';

/** Signs Ada in through Passport's `AuthGuard('local')`. */
async function signIn(t: TestApp): Promise<Browser> {
  const browser = new Browser(t.url);
  const login = await browser.post('/auth/login', { email: ADA.email, password: ADA_PASSWORD });
  expect(login.status).toBe(200);
  return browser;
}

function isClearing(response: request.Response): boolean {
  const cookies = sessionCookies(response);
  return cookies.length > 0 && cookies.every((cookie) => cookie.attributes['max-age'] === '0');
}

describe.each(ADAPTERS)('Passport and the current user (%s)', (adapter) => {
  describe('with a SessionUserLoader', () => {
    const t = useTestApp(adapter, {
      controllers: [AuthController, ProfileController],
      imports: [usersModule({ loader: true })],
    });
    let loader: UsersLoader;

    beforeEach(() => {
      loader = t.app.get(SessionUserLoader, { strict: false });
      loader.calls.length = 0;
      t.app.get(UsersService, { strict: false }).reset();
    });

    it('Passport login: the right password answers 200, sets the cookie and stores the user', async () => {
      const browser = new Browser(t.url);
      const login = await browser.post('/auth/login', {
        email: ADA.email,
        password: ADA_PASSWORD,
      });
      expect(login.status).toBe(200);
      expect(login.body).toEqual(ADA);
      expect(issuedCookies(login)).toHaveLength(1);
      const row = await rowFor(t.dataSource, browser.token!);
      expect(row?.user_id).toBe('42');
      expect(row?.authenticated_at).not.toBeNull();
      expect(eventsOf(t, 'session.authenticated')).toHaveLength(1);
    });

    it('Passport login: a wrong password or an unknown email answers 401 and stores nothing', async () => {
      for (const body of [
        { email: ADA.email, password: 'wrong' },
        { email: 'nobody@example.com', password: ADA_PASSWORD },
        { email: ADA.email },
      ]) {
        const login = await request(t.url).post('/auth/login').send(body);
        expect(login.status).toBe(401);
        expect(issuedCookies(login)).toEqual([]);
      }
      expect(await countRows(t.dataSource)).toBe(0);
      expect(eventsOf(t, 'session.authenticated')).toHaveLength(0);
    });

    it('later requests: req.user and @CurrentUser() carry the loaded user, loaded once', async () => {
      const browser = await signIn(t);
      loader.calls.length = 0;
      const profile = await browser.get('/me');
      expect(profile.status).toBe(200);
      expect(profile.body).toEqual({ user: ADA, reqUser: ADA });
      expect(loader.calls).toEqual(['42']);
    });

    it('the user is loaded once per request, even when the guard runs twice', async () => {
      const browser = await signIn(t);
      loader.calls.length = 0;
      const response = await browser.get('/me/guarded-twice');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ user: ADA });
      expect(loader.calls).toEqual(['42']);
    });

    it('@CurrentUserId(ParseIntPipe) gives the numeric ID as a number', async () => {
      const browser = await signIn(t);
      const response = await browser.get('/me/id');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ id: 42, type: 'number' });
      const optional = await browser.get('/me/optional');
      expect(optional.body).toEqual({ user: ADA, userId: '42', numericId: 42 });
    });

    it('a user the loader no longer finds ends the session: 401 session_required, cookie cleared, row deleted', async () => {
      const browser = await signIn(t);
      const token = browser.token!;
      t.app.get(UsersService, { strict: false }).delete(ADA.id);
      loader.calls.length = 0;

      const denied = await browser.get('/me');
      expect(denied.status).toBe(401);
      expect(denied.body.code).toBe('session_required');
      expect(isClearing(denied)).toBe(true);
      expect(loader.calls).toEqual(['42']);
      expect(await rowFor(t.dataSource, token)).toBeUndefined();
      expect(eventsOf(t, 'session.logged_out')).toHaveLength(1);

      // A copy of the old cookie reaches nothing, and loads no user.
      const replay = await request(t.url).get('/me').set('Cookie', `__Host-sid=${token}`);
      expect(replay.status).toBe(401);
      expect(loader.calls).toEqual(['42']);
    });

    it('on a public route, a user the loader no longer finds makes the request anonymous', async () => {
      const browser = await signIn(t);
      t.app.get(UsersService, { strict: false }).delete(ADA.id);
      const response = await browser.get('/me/optional');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ user: null, userId: null, numericId: null });
      expect(isClearing(response)).toBe(true);
      expect(await countRows(t.dataSource)).toBe(0);
    });

    it('anonymous requests load no user: @CurrentUser() is null, and no loader call', async () => {
      const visitor = new Browser(t.url);
      expect((await visitor.get('/me/optional')).body).toEqual({
        user: null,
        userId: null,
        numericId: null,
      });
      expect((await visitor.post('/me/visit')).status).toBe(200);
      expect(await countRows(t.dataSource)).toBe(1);
      const withSession = await visitor.get('/me/optional');
      expect(withSession.body).toEqual({ user: null, userId: null, numericId: null });
      const denied = await visitor.get('/me');
      expect(denied.status).toBe(401);
      expect(loader.calls).toEqual([]);
    });
  });

  describe('with CSRF protection (the default)', () => {
    const t = useTestApp(adapter, {
      options: { csrf: { enabled: true } },
      controllers: [AuthController, ProfileController],
      imports: [usersModule({ loader: true })],
    });

    beforeEach(() => t.app.get(UsersService, { strict: false }).reset());

    it('the SessionGuard checks the CSRF token before Passport sees the password', async () => {
      const users = t.app.get(UsersService, { strict: false });
      const browser = new Browser(t.url);
      const refused = await browser.post('/auth/login', {
        email: ADA.email,
        password: ADA_PASSWORD,
      });
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('csrf_token_invalid');
      expect(users.verifications).toBe(0);

      const { token } = (await browser.get('/auth/csrf')).body;
      const login = await request(t.url)
        .post('/auth/login')
        .set('Cookie', `__Host-sid=${browser.token}`)
        .set('x-csrf-token', token)
        .send({ email: ADA.email, password: ADA_PASSWORD });
      expect(login.status).toBe(200);
      expect(users.verifications).toBe(1);
      expect(issuedCookies(login)).toHaveLength(1);
    });
  });

  describe('without a SessionUserLoader', () => {
    const t = useTestApp(adapter, {
      controllers: [AuthController, PlainController],
      imports: [usersModule({ loader: false })],
    });

    it('Passport login works; later requests have the user ID only, and no req.user', async () => {
      const browser = await signIn(t);
      expect(await countRows(t.dataSource)).toBe(1);
      const response = await browser.get('/plain');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ id: 42, reqUser: null });
    });

    it('@CurrentUser() without a loader is a programming error (500), never a silent null', async () => {
      const browser = await signIn(t);
      const response = await browser.get('/plain/current-user');
      expect(response.status).toBe(500);
    });
  });
});
