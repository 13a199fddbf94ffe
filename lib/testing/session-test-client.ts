import { resolveSessionOptions } from '../options/resolve-session-options';
import {
  SessionCookieOptions,
  SessionCsrfOptions,
  SessionRememberMeOptions,
} from '../options/session-options';
import { CookieJar } from './cookie-jar';
import { FetchFunction, FetchTransport } from './fetch-transport';
import { SessionTestClientError } from './session-test-client-error';
import {
  SupertestFunction,
  SupertestResponseShape,
  SupertestTransport,
} from './supertest-transport';
import { ReceivedResponse, SessionTestTransport } from './transport';

/** The methods a `SessionTestClient` sends. */
export type TestRequestMethod = 'GET' | 'HEAD' | 'OPTIONS' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Methods the package never asks a CSRF token for (as its guard). */
const SAFE_METHODS: ReadonlySet<TestRequestMethod> = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface SessionTestClientOptions {
  /**
   * The application's route that answers `GET` with JSON `{ token }` (from
   * `CsrfService.token(session)`). The client fetches a token there before its first unsafe
   * request and again whenever the session cookie has changed (sign-in, regeneration, sign-out).
   * Required while CSRF protection is on, which is the module's default.
   */
  csrfPath?: string;
  /**
   * The `cookie` option given to `SessionModule`, so the client knows the session cookie's name
   * (only `name` and `secure` are read). Default: `__Host-sid`, or `sid` with `secure: false`.
   */
  cookie?: SessionCookieOptions;
  /**
   * The `rememberMe` option given to `SessionModule` (only `cookieName` is read). Default:
   * `__Host-remember`, or `remember` with `cookie.secure: false`.
   */
  rememberMe?: SessionRememberMeOptions;
  /**
   * The `csrf` option given to `SessionModule` (`enabled` and `header` are read). Default: on,
   * header `x-csrf-token`. With `enabled: false` the client sends no tokens and needs no
   * `csrfPath`.
   */
  csrf?: SessionCsrfOptions;
  /** Headers sent with every request, for example a `User-Agent`. */
  headers?: Record<string, string>;
}

/** One request's extras. */
export interface TestRequestInit {
  /** A plain object or array is sent as JSON; anything else as the underlying client sends it. */
  body?: unknown;
  /** Headers for this request; they win over the client's own (`Cookie`, the CSRF header). */
  headers?: Record<string, string>;
  /**
   * `false` sends an unsafe request without a CSRF token, to test that the application refuses
   * it. Default: unsafe requests carry the token.
   */
  csrf?: boolean;
}

/** The CSRF token the client holds, and the session cookie it was handed out for. */
interface HeldCsrfToken {
  token: string;
  sessionCookie: string | undefined;
}

function lowerCaseNames(headers: Record<string, string> = {}): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]),
  );
}

/** Where a client with CSRF on fetches its tokens, and the header it sends them in. */
function tokenRoute(path: string | undefined, header: string): { path: string; header: string } {
  if (path === undefined) {
    throw new SessionTestClientError(
      "SessionTestClient needs csrfPath: CSRF protection is on (the module's default), so unsafe requests need a token. Give the path of the route that answers { token } (for example csrfPath: '/auth/csrf'), or csrf: { enabled: false } when the application turns CSRF off.",
    );
  }
  return { path, header };
}

/**
 * An HTTP client for an application's tests that keeps the session as a browser would: it keeps
 * the session and remember-me cookies (`Secure` ones too, over plain http, which supertest's
 * agent drops; `Max-Age=0` deletes), and it sends the CSRF token on unsafe requests, fetching a
 * new one from `csrfPath` whenever the session cookie has changed. Responses are the underlying
 * client's own: supertest's `Response` or fetch's `Response`.
 *
 * @example
 * // supertest, on the Nest application's server
 * const client = SessionTestClient.supertest(request, app.getHttpServer(), {
 *   csrfPath: '/auth/csrf',
 * });
 * expect((await client.post('/auth/login', { username: 'alice', password: 's3cret' })).status).toBe(200);
 * expect((await client.get('/profile')).body).toEqual({ username: 'alice' });
 *
 * @example
 * // fetch, on a listening application
 * await app.listen(0, '127.0.0.1');
 * const client = SessionTestClient.fetch(await app.getUrl(), { csrfPath: '/auth/csrf' });
 * expect((await client.post('/auth/login', { username: 'alice', password: 's3cret' })).status).toBe(200);
 * expect(await (await client.get('/profile')).json()).toEqual({ username: 'alice' });
 */
export class SessionTestClient<R> {
  private readonly jar = new CookieJar();
  private readonly sessionCookieName: string;
  private readonly rememberMeCookieName: string;
  /** Where tokens come from and where they go; `null` when the client sends none. */
  private readonly csrf: { path: string; header: string } | null;
  private readonly headers: Record<string, string>;
  private heldToken: HeldCsrfToken | null = null;
  /** The token request under way, shared by unsafe requests sent at the same time. */
  private tokenRequest: Promise<string> | null = null;

  /**
   * A client over supertest: pass supertest's default export (this package does not depend on
   * supertest) and what you would give it, usually `app.getHttpServer()` (supertest listens on a
   * free port by itself) or a URL.
   *
   * @example
   * import request from 'supertest';
   * const client = SessionTestClient.supertest(request, app.getHttpServer(), { csrfPath: '/csrf' });
   */
  static supertest<A, S extends SupertestResponseShape>(
    request: SupertestFunction<A, S>,
    app: A,
    options?: SessionTestClientOptions,
  ): SessionTestClient<S> {
    return new SessionTestClient(new SupertestTransport(request, app), options);
  }

  /**
   * A client over `fetch` (the global one, or `options.fetch`), for an application listening at
   * `baseUrl`. Redirects are not followed, as with supertest.
   *
   * @example
   * await app.listen(0, '127.0.0.1');
   * const client = SessionTestClient.fetch(await app.getUrl(), { csrfPath: '/csrf' });
   */
  static fetch(
    baseUrl: string | URL,
    options: SessionTestClientOptions & { fetch?: FetchFunction } = {},
  ): SessionTestClient<Response> {
    const { fetch: fetchFunction, ...clientOptions } = options;
    return new SessionTestClient(new FetchTransport(String(baseUrl), fetchFunction), clientOptions);
  }

  /** A client over any transport (see `SessionTestTransport`); the factories cover the usual two. */
  constructor(
    private readonly transport: SessionTestTransport<R>,
    options: SessionTestClientOptions = {},
  ) {
    const resolved = resolveSessionOptions({
      cookie: options.cookie,
      rememberMe: options.rememberMe,
      csrf: options.csrf,
    });
    this.sessionCookieName = resolved.cookie.name;
    this.rememberMeCookieName = resolved.rememberMe.cookie.name;
    this.headers = lowerCaseNames(options.headers);
    this.csrf = resolved.csrf.enabled ? tokenRoute(options.csrfPath, resolved.csrf.header) : null;
  }

  /** The session cookie's value, or `undefined` when the client has none. */
  get sessionCookie(): string | undefined {
    return this.jar.get(this.sessionCookieName);
  }

  /** The remember-me cookie's value, or `undefined` when the client has none. */
  get rememberMeCookie(): string | undefined {
    return this.jar.get(this.rememberMeCookieName);
  }

  /** Every cookie the client holds, by name. */
  get cookies(): Record<string, string> {
    return this.jar.entries();
  }

  /**
   * Stores a cookie as if the application had set it, for example a copied or forged session
   * ID. `persistent` cookies survive `restartBrowser()`.
   */
  setCookie(name: string, value: string, persistent = false): void {
    this.jar.set(name, value, persistent);
  }

  deleteCookie(name: string): void {
    this.jar.delete(name);
  }

  /**
   * Closes and reopens the browser: forgets the cookies without Max-Age or Expires (the session
   * cookie) and keeps the others (the remember-me cookie).
   */
  restartBrowser(): void {
    this.jar.forgetBrowserSessionCookies();
  }

  get(path: string, init?: Omit<TestRequestInit, 'body'>): Promise<R> {
    return this.request('GET', path, init);
  }

  post(path: string, body?: unknown, init?: Omit<TestRequestInit, 'body'>): Promise<R> {
    return this.request('POST', path, { ...init, body });
  }

  put(path: string, body?: unknown, init?: Omit<TestRequestInit, 'body'>): Promise<R> {
    return this.request('PUT', path, { ...init, body });
  }

  patch(path: string, body?: unknown, init?: Omit<TestRequestInit, 'body'>): Promise<R> {
    return this.request('PATCH', path, { ...init, body });
  }

  delete(path: string, init?: TestRequestInit): Promise<R> {
    return this.request('DELETE', path, init);
  }

  /** Sends a request with the client's cookies, and its CSRF token when the method is unsafe. */
  async request(method: TestRequestMethod, path: string, init: TestRequestInit = {}): Promise<R> {
    const headers: Record<string, string> = {};
    if (this.csrf !== null && init.csrf !== false && !SAFE_METHODS.has(method)) {
      // Before the cookies are read: fetching the token may start the session this request uses.
      headers[this.csrf.header] = await this.csrfToken();
    }
    Object.assign(headers, lowerCaseNames(init.headers));
    return (await this.exchange(method, path, headers, init.body)).response;
  }

  /**
   * The CSRF token the next unsafe request carries: the one held while the session cookie is
   * the one it was handed out for, else a new one from `csrfPath`.
   */
  async csrfToken(): Promise<string> {
    if (this.heldToken !== null && this.heldToken.sessionCookie === this.sessionCookie) {
      return this.heldToken.token;
    }
    this.tokenRequest ??= this.fetchCsrfToken().finally(() => (this.tokenRequest = null));
    return this.tokenRequest;
  }

  private async fetchCsrfToken(): Promise<string> {
    if (this.csrf === null) {
      throw new SessionTestClientError(
        'SessionTestClient: CSRF is off for this client (csrf: { enabled: false }), so it has no token',
      );
    }
    const { path } = this.csrf;
    const received = await this.exchange('GET', path, { accept: 'application/json' });
    const body = received.status === 200 ? await received.json().catch(() => undefined) : undefined;
    const token = (body as { token?: unknown } | null | undefined)?.token;
    if (typeof token !== 'string') {
      throw new SessionTestClientError(
        `SessionTestClient: GET ${path} answered ${received.status} without a { token } body; csrfPath must name a public route that returns { token: csrfService.token(session) }.`,
      );
    }
    // The token belongs to the session cookie as this response left it.
    this.heldToken = { token, sessionCookie: this.sessionCookie };
    return token;
  }

  /** Sends with the jar's cookies and the client's headers (`headers` win), then keeps the cookies set. */
  private async exchange(
    method: TestRequestMethod,
    path: string,
    headers: Record<string, string>,
    body?: unknown,
  ): Promise<ReceivedResponse<R>> {
    const cookie = this.jar.header();
    const sent = { ...(cookie === undefined ? {} : { cookie }), ...this.headers, ...headers };
    const received = await this.transport.send({ method, path, headers: sent, body });
    this.jar.receive(received.setCookie);
    return received;
  }
}
