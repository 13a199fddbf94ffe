/**
 * Issue 15, GraphQL over HTTP: the SessionGuard on resolvers, on Express with Apollo and on
 * Fastify with Mercurius. Written from the attacker's side first (forged mutations, cross-site
 * forms, old tokens), then the user's (sign in, data, sign out, freshness, default access).
 */
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import {
  SessionContextUnsupportedException,
  SessionGuard,
  SessionService,
} from 'nest-session-security';
import { ADAPTERS, Adapter, clockAt, eventsOf } from './support/test-app';
import { COOKIE, countRows, rowFor, sessionCookies } from './support/http-client';
import { CatalogResolver, GraphqlApp, useGraphqlApp } from './support/graphql-app';

const MINUTE = 60_000;
const CSRF_HEADER = 'x-csrf-token';

interface GraphqlError {
  message: string;
  extensions?: { code?: string; [key: string]: unknown };
}

interface GraphqlBody {
  data?: Record<string, unknown> | null;
  errors?: GraphqlError[];
}

interface SendOptions {
  /** The CSRF token sent; `null` sends none. Defaults to the client's own. */
  csrf?: string | null;
  headers?: Record<string, string>;
  variables?: Record<string, unknown>;
}

/** A browser-like GraphQL client: keeps the session cookie and knows its CSRF token. */
class GraphqlClient {
  token: string | null = null;
  csrf: string | null = null;

  constructor(private readonly url: string) {}

  keep(response: request.Response): request.Response {
    for (const cookie of sessionCookies(response)) {
      this.token = cookie.attributes['max-age'] === '0' ? null : cookie.value;
    }
    return response;
  }

  /** A request to /graphql with the session cookie (when there is one). */
  raw(method: 'get' | 'post', query = ''): request.Test {
    const test = request(this.url)[method](`/graphql${query}`);
    return this.token ? test.set('Cookie', `${COOKIE}=${this.token}`) : test;
  }

  /** A JSON POST, as GraphQL clients send operations. */
  async send(query: string, options: SendOptions = {}): Promise<request.Response> {
    let test = this.raw('post');
    const csrf = options.csrf === undefined ? this.csrf : options.csrf;
    if (csrf) test = test.set(CSRF_HEADER, csrf);
    for (const [name, value] of Object.entries(options.headers ?? {})) test = test.set(name, value);
    return this.keep(await test.send({ query, variables: options.variables }));
  }

  async refreshCsrf(): Promise<string> {
    const response = await this.send('query { csrfToken }', { csrf: null });
    expect(response.status).toBe(200);
    this.csrf = (response.body as GraphqlBody).data!.csrfToken as string;
    return this.csrf;
  }

  /** Signs in with the sign-in mutation, then fetches the signed-in session's token. */
  async signIn(userId: string): Promise<request.Response> {
    if (!this.csrf) await this.refreshCsrf();
    const response = await this.send('mutation($u: String!) { signIn(userId: $u) { userId } }', {
      variables: { u: userId },
    });
    expect(errorsOf(response)).toEqual([]);
    await this.refreshCsrf();
    return response;
  }
}

function errorsOf(response: request.Response): GraphqlError[] {
  return (response.body as GraphqlBody).errors ?? [];
}

function codesOf(response: request.Response): (string | undefined)[] {
  return errorsOf(response).map((error) => error.extensions?.code);
}

function dataOf(response: request.Response): Record<string, unknown> | null | undefined {
  return (response.body as GraphqlBody).data;
}

/**
 * The HTTP status of a request the guard refused, when the whole `data` is `null` (a non-null
 * root field, one error): @nestjs/apollo resets execution errors to 200, Mercurius answers the
 * error's `statusCode`.
 */
function refusedStatus(adapter: Adapter, status: number): number {
  return adapter === 'express' ? 200 : status;
}

/** The session data stored for `token`, or `undefined` without a row. */
async function storedData(t: GraphqlApp, token: string | null) {
  return token ? (await rowFor(t.dataSource, token))?.data : undefined;
}

describe.each(ADAPTERS)('GraphQL over HTTP (%s)', (adapter) => {
  const driver = adapter === 'express' ? 'Apollo' : 'Mercurius';
  const t = useGraphqlApp(adapter);

  describe(`attacks (${driver})`, () => {
    it('CSRF: a mutation without the token is refused before any resolver runs, and nothing changes', async () => {
      const victim = new GraphqlClient(t.url);
      await victim.signIn('ada');
      await victim.send('mutation { setData(key: "k", value: "mine") { data } }');
      const before = await rowFor(t.dataSource, victim.token!);
      t.log.ran.length = 0;
      t.events.length = 0;

      const forged = await victim.send(
        'mutation { setData(key: "k", value: "evil") { data } other: setData(key: "x", value: "evil") { data } }',
        { csrf: null },
      );

      expect(codesOf(forged)).toEqual(['csrf_token_invalid']);
      expect(errorsOf(forged)[0].message).toContain(CSRF_HEADER);
      expect(dataOf(forged)).toBeNull();
      expect(forged.status).toBe(refusedStatus(adapter, 403));
      expect(t.log.ran).toEqual([]);
      const after = await rowFor(t.dataSource, victim.token!);
      expect(after!.data).toEqual({ k: 'mine' });
      expect(after!.version).toBe(before!.version);
      expect(sessionCookies(forged)).toEqual([]);
      expect(eventsOf(t, 'csrf.rejected')).toEqual([
        expect.objectContaining({ reason: 'missing-token', method: 'POST' }),
      ]);
    });

    it("CSRF: another session's token, or a made-up one, is refused (csrf_token_invalid)", async () => {
      const victim = new GraphqlClient(t.url);
      await victim.signIn('ada');
      const attacker = new GraphqlClient(t.url);
      await attacker.signIn('bob');
      for (const csrf of [attacker.csrf!, 'x'.repeat(86)]) {
        const forged = await victim.send('mutation { setData(key: "k", value: "evil") { data } }', {
          csrf,
        });
        expect(codesOf(forged)).toEqual(['csrf_token_invalid']);
      }
      expect(t.log.ran.filter((name) => name === 'setData')).toEqual([]);
      expect(await storedData(t, victim.token)).toEqual({});
      expect(eventsOf(t, 'csrf.rejected').map((event) => event.reason)).toEqual([
        'invalid-token',
        'invalid-token',
      ]);
    });

    it('login CSRF: an anonymous sign-in mutation without a token is refused; no session is made', async () => {
      const visitor = new GraphqlClient(t.url);
      const forged = await visitor.send('mutation { signIn(userId: "mallory") { userId } }');
      expect(codesOf(forged)).toEqual(['csrf_token_invalid']);
      expect(t.log.ran).toEqual([]);
      expect(visitor.token).toBeNull();
      expect(await countRows(t.dataSource)).toBe(0);
    });

    it('CSRF: a public mutation refused for one field does not run the others either', async () => {
      const visitor = new GraphqlClient(t.url);
      await visitor.refreshCsrf();
      const forged = await visitor.send(
        'mutation { a: addToCart(sku: "a") { data } b: addToCart(sku: "b") { data } }',
        { csrf: null },
      );
      expect(codesOf(forged)).toEqual(['csrf_token_invalid']);
      expect(t.log.ran).toEqual([]);
      expect(await countRows(t.dataSource)).toBe(0);
      expect(eventsOf(t, 'csrf.rejected')).toHaveLength(1);
    });

    it.each([
      ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
      ['a foreign Origin', { origin: 'https://evil.example' }],
      ['Origin: null', { origin: 'null' }],
    ])(
      'provenance: a mutation with %s is refused even with a valid token (csrf_origin_rejected)',
      async (_, headers) => {
        const victim = new GraphqlClient(t.url);
        await victim.signIn('ada');
        t.log.ran.length = 0;
        const forged = await victim.send('mutation { setData(key: "k", value: "evil") { data } }', {
          headers,
        });
        expect(codesOf(forged)).toEqual(['csrf_origin_rejected']);
        expect(forged.status).toBe(refusedStatus(adapter, 403));
        expect(t.log.ran).toEqual([]);
        expect(await storedData(t, victim.token)).toEqual({});
        expect(forged.headers.vary).toMatch(/Origin, Sec-Fetch-Site/);
      },
    );

    it('provenance: a query POSTed from another site is refused too (every GraphQL POST is checked)', async () => {
      const victim = new GraphqlClient(t.url);
      await victim.signIn('ada');
      t.log.ran.length = 0;
      const forged = await victim.send('query { me { userId name } }', {
        headers: { 'sec-fetch-site': 'cross-site' },
      });
      expect(codesOf(forged)).toEqual(['csrf_origin_rejected']);
      expect(t.log.ran).toEqual([]);
      const sameOrigin = await victim.send('query { me { userId name } }', {
        csrf: null,
        headers: { 'sec-fetch-site': 'same-origin', origin: t.url },
      });
      expect(dataOf(sameOrigin)).toEqual({ me: { userId: 'ada', name: 'Ada' } });
    });

    it('a cross-site form POSTing a mutation is refused and changes nothing', async () => {
      const victim = new GraphqlClient(t.url);
      await victim.signIn('ada');
      t.log.ran.length = 0;
      const forged = await victim
        .raw('post')
        .type('form')
        .set('sec-fetch-site', 'cross-site')
        .send({ query: 'mutation { setData(key: "k", value: "evil") { data } }' });
      if (adapter === 'express') {
        // Apollo Server's own CSRF prevention answers first.
        expect(forged.status).toBe(400);
        expect(codesOf(forged)).toEqual(['BAD_REQUEST']);
      } else {
        // Nest parses forms on Fastify too, and Mercurius runs them: the guard refuses.
        expect(codesOf(forged)).toEqual(['csrf_origin_rejected']);
      }
      expect(t.log.ran).toEqual([]);
      expect(await storedData(t, victim.token)).toEqual({});
    });

    it('a form POST without Origin or Sec-Fetch-Site (an old browser) cannot run a query or a mutation', async () => {
      const victim = new GraphqlClient(t.url);
      await victim.signIn('ada');
      t.log.ran.length = 0;
      for (const query of [
        'query { me { userId } }',
        'mutation { setData(key: "k", value: "evil") { data } }',
      ]) {
        const forged = await victim.raw('post').type('form').send({ query });
        if (adapter === 'express') expect(codesOf(forged)).toEqual(['BAD_REQUEST']);
        else expect(codesOf(forged)).toEqual(['csrf_token_invalid']);
      }
      expect(t.log.ran).toEqual([]);
      expect(await storedData(t, victim.token)).toEqual({});
    });

    it.each([
      ['text/plain', 'text/plain'],
      ['multipart/form-data', 'multipart/form-data; boundary=x'],
    ])('a %s body is refused and changes nothing', async (_, contentType) => {
      const victim = new GraphqlClient(t.url);
      await victim.signIn('ada');
      t.log.ran.length = 0;
      const body =
        contentType === 'text/plain'
          ? JSON.stringify({ query: 'mutation { setData(key: "k", value: "evil") { data } }' })
          : '--x\r\nContent-Disposition: form-data; name="query"\r\n\r\nmutation { setData(key: "k", value: "evil") { data } }\r\n--x--\r\n';
      const forged = await victim.raw('post').set('Content-Type', contentType).send(body);
      expect(forged.status).toBeGreaterThanOrEqual(400);
      expect(t.log.ran).toEqual([]);
      expect(await storedData(t, victim.token)).toEqual({});
    });

    it('a mutation sent with GET is refused and changes nothing', async () => {
      const victim = new GraphqlClient(t.url);
      await victim.signIn('ada');
      t.log.ran.length = 0;
      const query = encodeURIComponent('mutation { setData(key: "k", value: "evil") { data } }');
      const forged = await victim.raw('get', `?query=${query}`);
      expect(forged.status).toBeGreaterThanOrEqual(400);
      expect(t.log.ran).toEqual([]);
      expect(await storedData(t, victim.token)).toEqual({});
    });

    it('an anonymous caller of an authenticated resolver gets session_required', async () => {
      const anonymous = new GraphqlClient(t.url);
      const response = await anonymous.send('query { me { userId } }');
      expect(codesOf(response)).toEqual(['session_required']);
      expect(dataOf(response)).toBeNull();
      expect(response.status).toBe(refusedStatus(adapter, 401));
      expect(t.log.ran).toEqual([]);
    });

    it('a logged-out token gets session_required', async () => {
      const client = new GraphqlClient(t.url);
      await client.signIn('ada');
      const old = client.token!;
      const out = await client.send('mutation { signOut }');
      expect(dataOf(out)).toEqual({ signOut: true });
      client.token = old;
      const replay = await client.send('query { me { userId } }');
      expect(codesOf(replay)).toEqual(['session_required']);
    });

    it('a revoked token gets session_revoked, and its cookie is cleared', async () => {
      const client = new GraphqlClient(t.url);
      await client.signIn('ada');
      const token = client.token!;
      expect(await t.app.get(SessionService).logoutAll('ada')).toBe(1);
      const replay = await client.send('query { me { userId } }');
      expect(codesOf(replay)).toEqual(['session_revoked']);
      expect(replay.status).toBe(refusedStatus(adapter, 401));
      expect(sessionCookies(replay).map((cookie) => cookie.attributes['max-age'])).toEqual(['0']);
      expect(client.token).toBeNull();
      expect((await rowFor(t.dataSource, token))!.revoked_at).not.toBeNull();
    });

    it('an idle-expired token gets session_idle_expired and its row is deleted', async () => {
      const client = new GraphqlClient(t.url);
      await client.signIn('ada');
      const token = client.token!;
      clockAt(t, 31 * MINUTE);
      const replay = await client.send('query { me { userId } }');
      expect(codesOf(replay)).toEqual(['session_idle_expired']);
      expect(client.token).toBeNull();
      expect(await rowFor(t.dataSource, token)).toBeUndefined();
    });

    it('an old token replaced by a sign-in reaches nothing (session_required)', async () => {
      const client = new GraphqlClient(t.url);
      await client.refreshCsrf();
      await client.send('mutation { addToCart(sku: "a") { data } }');
      const anonymous = client.token!;
      await client.signIn('ada');
      expect(client.token).not.toBe(anonymous);
      client.token = anonymous;
      expect(codesOf(await client.send('query { me { userId } }'))).toEqual(['session_required']);
    });
  });

  describe(`sessions in resolvers (${driver})`, () => {
    it('the sign-in mutation sets the cookie; the session then reaches authenticated resolvers', async () => {
      const client = new GraphqlClient(t.url);
      await client.refreshCsrf();
      expect(client.token).toMatch(/^p\./);
      const signIn = await client.send('mutation { signIn(userId: "ada") { userId } }');
      expect(dataOf(signIn)).toEqual({ signIn: { userId: 'ada' } });
      const [cookie] = sessionCookies(signIn);
      expect(cookie.attributes).toMatchObject({ httponly: true, secure: true, path: '/' });
      expect(client.token).not.toMatch(/^p\./);
      expect((await rowFor(t.dataSource, client.token!))!.user_id).toBe('ada');
      expect(signIn.headers['cache-control']).toBe('no-store');

      const me = await client.send('query { me { userId name } }');
      expect(dataOf(me)).toEqual({ me: { userId: 'ada', name: 'Ada' } });
      expect(t.log.ran).toEqual(['signIn', 'me']);
    });

    it("the sign-in renews the CSRF secret: the visitor's token no longer works", async () => {
      const client = new GraphqlClient(t.url);
      await client.refreshCsrf();
      const before = client.csrf;
      await client.send('mutation { signIn(userId: "ada") { userId } }');
      const stale = await client.send('mutation { setData(key: "k", value: "v") { data } }', {
        csrf: before,
      });
      expect(codesOf(stale)).toEqual(['csrf_token_invalid']);
    });

    it('data written in a mutation is saved, and read back by the next request', async () => {
      const client = new GraphqlClient(t.url);
      await client.signIn('ada');
      const set = await client.send('mutation { setData(key: "k", value: "v1") { data } }');
      expect(errorsOf(set)).toEqual([]);
      expect(await storedData(t, client.token)).toEqual({ k: 'v1' });
      const read = await client.send('query { session { userId data } }');
      expect(dataOf(read)).toEqual({ session: { userId: 'ada', data: '{"k":"v1"}' } });
    });

    it('an anonymous visitor with its token writes a session (a cart) through a public mutation', async () => {
      const client = new GraphqlClient(t.url);
      await client.refreshCsrf();
      const added = await client.send('mutation { addToCart(sku: "a") { data } }');
      expect(dataOf(added)).toEqual({ addToCart: { data: '{"cart":["a"]}' } });
      expect(client.token).not.toMatch(/^p\./);
      expect(await storedData(t, client.token)).toEqual({ cart: ['a'] });
      // The pre-session's token goes on working for the stored session.
      await client.send('mutation { addToCart(sku: "b") { data } }');
      expect(await storedData(t, client.token)).toEqual({ cart: ['a', 'b'] });
    });

    it('the sign-out mutation clears the cookie and ends the session', async () => {
      const client = new GraphqlClient(t.url);
      await client.signIn('ada');
      const token = client.token!;
      const out = await client.send('mutation { signOut }');
      expect(dataOf(out)).toEqual({ signOut: true });
      expect(sessionCookies(out).map((cookie) => cookie.attributes['max-age'])).toEqual(['0']);
      expect(client.token).toBeNull();
      expect(await rowFor(t.dataSource, token)).toBeUndefined();
      expect(codesOf(await client.send('query { me { userId } }'))).toEqual(['session_required']);
    });

    it('one refused field leaves the others: their data and their writes stand', async () => {
      const client = new GraphqlClient(t.url);
      await client.refreshCsrf();
      const mixed = await client.send(
        'mutation { addToCart(sku: "a") { data } setData(key: "k", value: "v") { data } }',
      );
      expect(codesOf(mixed)).toEqual(['session_required']);
      expect(t.log.ran).toEqual(['addToCart']);
      expect(await storedData(t, client.token)).toEqual({ cart: ['a'] });

      const partial = await client.send('query { session { userId } undecorated }');
      expect(dataOf(partial)).toEqual({ session: { userId: null }, undecorated: null });
      expect(codesOf(partial)).toEqual(['session_required']);
      // Some data: both drivers answer 200.
      expect(partial.status).toBe(200);
    });

    it('the root fields of a query share one load of the session', async () => {
      const client = new GraphqlClient(t.url);
      await client.signIn('ada');
      t.statements.reset();
      await client.send('query { me { userId } }');
      const single = t.statements.count;
      t.statements.reset();
      const many = await client.send(
        'query { a: me { userId } b: me { name } c: session { userId } d: undecorated }',
      );
      expect(errorsOf(many)).toEqual([]);
      expect(dataOf(many)).toMatchObject({ a: { userId: 'ada' }, d: 'ada' });
      expect(t.statements.count).toBe(single);
    });

    it('a query needs no CSRF token; a @SkipCsrf() mutation needs none either', async () => {
      const client = new GraphqlClient(t.url);
      await client.signIn('ada');
      const query = await client.send('query { me { userId } }', { csrf: null });
      expect(dataOf(query)).toEqual({ me: { userId: 'ada' } });
      const webhook = await client.send('mutation { webhook }', { csrf: null });
      expect(dataOf(webhook)).toEqual({ webhook: true });
      expect(eventsOf(t, 'csrf.rejected')).toEqual([]);
    });

    it('@RequireFreshAuth(): fresh after sign-in, reauth_required 6 minutes later, fresh again after signing in again', async () => {
      const client = new GraphqlClient(t.url);
      await client.signIn('ada');
      expect(dataOf(await client.send('mutation { sensitive }'))).toEqual({ sensitive: 'ada' });
      clockAt(t, 6 * MINUTE);
      t.log.ran.length = 0;
      const stale = await client.send('mutation { sensitive }');
      expect(codesOf(stale)).toEqual(['reauth_required']);
      expect(stale.status).toBe(refusedStatus(adapter, 401));
      expect(t.log.ran).toEqual([]);
      await client.signIn('ada');
      expect(dataOf(await client.send('mutation { sensitive }'))).toEqual({ sensitive: 'ada' });
    });

    it("default access: an undecorated resolver needs a session; a @Public() class's resolvers don't, unless @Authenticated()", async () => {
      const anonymous = new GraphqlClient(t.url);
      const response = await anonymous.send('query { undecorated catalog orders }');
      expect(dataOf(response)).toEqual({ undecorated: null, catalog: 'catalog', orders: null });
      expect(codesOf(response)).toEqual(['session_required', 'session_required']);
      const client = new GraphqlClient(t.url);
      await client.signIn('ada');
      expect(dataOf(await client.send('query { undecorated catalog orders }'))).toEqual({
        undecorated: 'ada',
        catalog: 'catalog',
        orders: 'orders of ada',
      });
    });

    it('an operation over a WebSocket (the handshake as `req`) gets no session: public resolvers only', async () => {
      const client = new GraphqlClient(t.url);
      await client.signIn('ada');
      const guard = t.app.get(SessionGuard);
      const over = (graphqlContext: object, method: 'catalog' | 'orders') => {
        const info = { operation: { operation: 'subscription' } };
        const execution = new ExecutionContextHost(
          [{}, {}, graphqlContext, info],
          CatalogResolver,
          CatalogResolver.prototype[method],
        );
        execution.setType('graphql');
        return guard.canActivate(execution);
      };
      const handshake = {
        method: 'GET',
        headers: { upgrade: 'websocket', cookie: `${COOKIE}=${client.token}` },
      };
      t.statements.reset();
      await expect(over({ req: handshake }, 'catalog')).resolves.toBe(true);
      await expect(over({ req: handshake }, 'orders')).rejects.toMatchObject({
        code: 'session_context_unsupported',
      });
      // graphql-ws without a context factory: no context at all.
      await expect(over({}, 'orders')).rejects.toBeInstanceOf(SessionContextUnsupportedException);
      expect(t.statements.count).toBe(0);
    });

    it('getSession() in the context factory (read lazily) and on the context request', async () => {
      const client = new GraphqlClient(t.url);
      await client.signIn('ada');
      await client.send('mutation { setData(key: "k", value: "v") { data } }');
      const response = await client.send('query { fromContextFactory fromContextRequest }');
      expect(dataOf(response)).toEqual({ fromContextFactory: 'ada:v', fromContextRequest: 'ada' });
    });
  });
});

describe.each(ADAPTERS)("defaultAccess: 'public' (%s)", (adapter) => {
  const t = useGraphqlApp(adapter, { options: { defaultAccess: 'public' } });

  it('an undecorated resolver is public; an @Authenticated() one still needs a session', async () => {
    const anonymous = new GraphqlClient(t.url);
    const response = await anonymous.send('query { undecorated authenticatedOnly }');
    expect(dataOf(response)).toEqual({ undecorated: 'anonymous', authenticatedOnly: null });
    expect(codesOf(response)).toEqual(['session_required']);
    expect(t.log.ran).toEqual(['undecorated']);
  });
});

/**
 * Apollo with its own CSRF prevention off, and the HTTP status of execution errors kept: the
 * package's rules hold without Apollo's, and the denials then carry their REST status.
 */
describe('Apollo without its CSRF prevention, statuses preserved (express)', () => {
  const t = useGraphqlApp('express', {
    driver: { csrfPrevention: false, preserveHttpStatusForExecutionErrors: false },
  });

  it('a form POST reaching the resolvers is refused by the guard: 403 csrf_token_invalid', async () => {
    const victim = new GraphqlClient(t.url);
    await victim.signIn('ada');
    t.log.ran.length = 0;
    for (const query of [
      'query { me { userId } }',
      'mutation { setData(key: "k", value: "evil") { data } }',
    ]) {
      const forged = await victim.raw('post').type('form').send({ query });
      expect(forged.status).toBe(403);
      expect(codesOf(forged)).toEqual(['csrf_token_invalid']);
    }
    const crossSite = await victim
      .raw('post')
      .type('form')
      .set('sec-fetch-site', 'cross-site')
      .send({ query: 'mutation { setData(key: "k", value: "evil") { data } }' });
    expect(crossSite.status).toBe(403);
    expect(codesOf(crossSite)).toEqual(['csrf_origin_rejected']);
    expect(t.log.ran).toEqual([]);
    expect(await storedData(t, victim.token)).toEqual({});
  });

  it('an anonymous caller of an authenticated resolver: 401 session_required', async () => {
    const response = await new GraphqlClient(t.url).send('query { me { userId } }');
    expect(response.status).toBe(401);
    expect(codesOf(response)).toEqual(['session_required']);
  });
});

describe.each(ADAPTERS)('an error while loading the session (%s)', (adapter) => {
  const t = useGraphqlApp(adapter, {
    options: { idGuessing: { threshold: 5, window: '1m', block: true } },
  });

  it('a blocked ID guesser gets session_id_guessing in extensions.code, before any resolver', async () => {
    const guess = (query: string) => {
      const guesser = new GraphqlClient(t.url);
      guesser.token = randomBytes(32).toString('base64url');
      return guesser.send(query);
    };
    for (let i = 0; i < 5; i++) {
      expect(dataOf(await guess('query { catalog }'))).toEqual({ catalog: 'catalog' });
    }
    t.log.ran.length = 0;
    const blocked = await guess('query { undecorated authenticatedOnly }');
    expect(dataOf(blocked)).toEqual({ undecorated: null, authenticatedOnly: null });
    expect(codesOf(blocked)).toEqual(['session_id_guessing', 'session_id_guessing']);
    expect(errorsOf(blocked)[0].message).toBe(
      'Too many unknown session IDs from this address; try again later.',
    );
    expect(t.log.ran).toEqual([]);
    expect(await countRows(t.dataSource)).toBe(0);
  });
});

/**
 * What the README says of errors that SessionService throws inside a resolver: they are
 * HttpExceptions, which each driver presents in its own way.
 */
describe.each(ADAPTERS)(
  'an HttpException thrown by SessionService in a resolver (%s)',
  (adapter) => {
    const t = useGraphqlApp(adapter, {
      options: { maxSessionsPerUser: 1, sessionLimitPolicy: 'refuse' },
    });

    it('session_limit_reached: Apollo keeps the code in extensions.originalError, Mercurius the message', async () => {
      await new GraphqlClient(t.url).signIn('ada');
      const second = new GraphqlClient(t.url);
      await second.refreshCsrf();
      const refused = await second.send('mutation { signIn(userId: "ada") { userId } }');
      const [error] = errorsOf(refused);
      expect(errorsOf(refused)).toHaveLength(1);
      if (adapter === 'express') {
        expect(error.extensions).toMatchObject({
          code: 'FORBIDDEN',
          originalError: { statusCode: 403, code: 'session_limit_reached' },
        });
      } else {
        expect(error.extensions).toBeUndefined();
        expect(error.message).toMatch(/session/i);
      }
      expect(await countRows(t.dataSource)).toBe(1);
    });
  },
);
