import request from 'supertest';
import { ManualClock as MainEntryClock } from 'nest-session-security';
import { ManualClock, SessionTestClient } from 'nest-session-security/testing';
import { ADAPTERS, TestApp, useTestApp } from './support/test-app';
import { rowFor } from './support/http-client';

/** What a response says, read the same way from supertest's and fetch's responses. */
interface Outcome {
  status: number;
  body: unknown;
}

/** One way of sending requests: the client under test, and how to read its responses. */
interface Transport {
  name: string;
  client(t: TestApp): SessionTestClient<unknown>;
  read(response: unknown): Promise<Outcome>;
}

const CLIENT_OPTIONS = { csrfPath: '/csrf' };

const TRANSPORTS: Transport[] = [
  {
    name: 'supertest on app.getHttpServer()',
    client: (t) => SessionTestClient.supertest(request, t.app.getHttpServer(), CLIENT_OPTIONS),
    read: async (response) => {
      const { status, body } = response as request.Response;
      return { status, body };
    },
  },
  {
    name: 'fetch on the listening URL',
    client: (t) => SessionTestClient.fetch(t.url, CLIENT_OPTIONS),
    read: async (response) => {
      const fetched = response as Response;
      const text = await fetched.text();
      return { status: fetched.status, body: text === '' ? undefined : JSON.parse(text) };
    },
  },
];

describe.each(ADAPTERS)('testing entry: SessionTestClient (%s)', (adapter) => {
  // The package's defaults: Secure `__Host-` cookies and CSRF protection on.
  const t = useTestApp(adapter, { options: { csrf: { enabled: true } } });

  describe.each(TRANSPORTS)('over $name', (transport) => {
    const send = async (response: Promise<unknown>) => transport.read(await response);

    it('a full login: sign in, use the session, sign out', async () => {
      const client = transport.client(t);

      const login = await send(client.post('/login', { userId: 'alice' }));
      expect(login.status).toBe(200);
      expect(client.sessionCookie).toEqual(expect.any(String));

      const me = await send(client.get('/private'));
      expect(me).toMatchObject({ status: 200, body: { userId: 'alice', userIdParam: 'alice' } });

      // An unsafe request after sign-in: it needs the token of the new session.
      const write = await send(client.post('/private/data', { theme: 'dark' }));
      expect(write).toMatchObject({ status: 200, body: { data: { theme: 'dark' } } });
      expect((await rowFor(t.dataSource, client.sessionCookie!))?.data).toEqual({ theme: 'dark' });

      expect((await send(client.post('/logout'))).status).toBe(204);
      expect(client.sessionCookie).toBeUndefined();
      expect(await send(client.get('/private'))).toMatchObject({
        status: 401,
        body: { code: 'session_required' },
      });
    });

    it('sign-out deletes the session and remember-me cookies (Max-Age=0)', async () => {
      const client = transport.client(t);
      await send(client.post('/login', { userId: 'alice', rememberMe: true }));
      expect(Object.keys(client.cookies).sort()).toEqual(['__Host-remember', '__Host-sid']);

      expect((await send(client.post('/logout'))).status).toBe(204);
      expect(client.cookies).toEqual({});
    });

    it('after sign-in the client sends a new token; the one from before sign-in is refused', async () => {
      const client = transport.client(t);
      const anonymousToken = await client.csrfToken();
      // Held while the session cookie stays: asking again does not fetch (each fetch differs).
      expect(await client.csrfToken()).toBe(anonymousToken);
      await send(client.post('/login', { userId: 'alice' }));

      const signedInToken = await client.csrfToken();
      expect(signedInToken).not.toBe(anonymousToken);
      expect((await send(client.post('/private/data', { a: 1 }))).status).toBe(200);
      const stale = await send(
        client.post('/private/data', { a: 2 }, { headers: { 'x-csrf-token': anonymousToken } }),
      );
      expect(stale).toMatchObject({ status: 403, body: { code: 'csrf_token_invalid' } });
    });

    it('an unsafe request without the token is refused, so the token is what lets it through', async () => {
      const client = transport.client(t);
      await send(client.post('/login', { userId: 'alice' }));
      const refused = await send(client.post('/private/data', { a: 1 }, { csrf: false }));
      expect(refused.status).toBe(403);
      expect(client.sessionCookie).toEqual(expect.any(String));
    });

    it('after a browser restart the remember-me cookie signs the user in again', async () => {
      const client = transport.client(t);
      await send(client.post('/login', { userId: 'alice', rememberMe: true }));
      const before = client.sessionCookie;

      client.restartBrowser();
      expect(client.sessionCookie).toBeUndefined();
      expect(await send(client.get('/private'))).toMatchObject({
        status: 200,
        body: { userId: 'alice' },
      });
      expect(client.sessionCookie).toEqual(expect.any(String));
      expect(client.sessionCookie).not.toBe(before);
      // The restored session has its own CSRF secret: the client fetched a token for it.
      expect((await send(client.post('/private/data', { a: 1 }))).status).toBe(200);
    });
  });

  it("without the helper, supertest's agent drops the Secure session cookie over http", async () => {
    const agent = request.agent(t.app.getHttpServer());
    const { body } = await agent.get('/csrf');
    const login = await agent
      .post('/login')
      .set('x-csrf-token', body.token)
      .send({ userId: 'alice' });
    // The pre-session cookie of GET /csrf never came back, so the token matched nothing.
    expect(login.status).toBe(403);
  });
});

describe('testing entry: exports', () => {
  it('ManualClock is the same class from the main entry and the testing entry', () => {
    expect(ManualClock).toBe(MainEntryClock);
    const clock = new ManualClock(new Date('2030-01-01T00:00:00Z'));
    clock.advance(60_000);
    expect(clock.now().toISOString()).toBe('2030-01-01T00:01:00.000Z');
  });
});
