import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Clock } from 'nest-session-security';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AppModule } from '../../sample/app.module';
import { configureSampleApp, createHttpAdapter } from '../../sample/http/create-sample-app';
import {
  createTestDatabase,
  dropTestDatabase,
  runDatabaseName,
  usesEmbeddedPostgres,
} from './database-url';

export type SampleAdapter = 'express' | 'fastify';
export const SAMPLE_ADAPTERS: SampleAdapter[] = ['express', 'fastify'];

/** The sample's session cookie under its default (secure) settings. */
export const SAMPLE_COOKIE = '__Host-sid';
/** The remember-me cookie, set at sign-in with `rememberMe: true`. */
export const REMEMBER_ME_COOKIE = '__Host-remember';

/**
 * A database of its own for one sample suite, created empty on the test server (or as a fresh
 * embedded PostgreSQL when the tests run on one) and dropped at the end: the sample runs its own
 * migrations and seeds, so it never shares the database of the package's suites. One of the
 * run's databases (`<run database>_sample_<suite>`), so the global teardown drops it too if the
 * suite could not.
 */
export class SampleDatabase {
  private constructor(
    readonly name: string,
    readonly url: string,
  ) {}

  static async create(suite: string): Promise<SampleDatabase> {
    const name = runDatabaseName(`sample_${suite}`);
    return new SampleDatabase(name, await createTestDatabase(name));
  }

  async drop(): Promise<void> {
    await dropTestDatabase(this.name);
  }
}

export interface SampleApp {
  app: INestApplication;
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  dataSource: DataSource;
  close(): Promise<void>;
}

export interface SampleAppSetup {
  databaseUrl: string;
  /** Replaces the package's clock (a `ManualClock` moves time without sleeping). */
  clock?: Clock;
}

/**
 * The sample as `main.ts` builds it (same module, same adapter, same global prefix), in this
 * process and on a random port, with its database given and the clock replaceable.
 */
export async function startSample(
  adapter: SampleAdapter,
  setup: SampleAppSetup,
): Promise<SampleApp> {
  let builder = Test.createTestingModule({
    imports: [
      AppModule.register({
        databaseUrl: setup.databaseUrl,
        preparedStatements: !usesEmbeddedPostgres(),
        adapter,
        // Mercurius's query cache is loaded with import(), which Jest's CommonJS runtime cannot run.
        graphqlDriver: adapter === 'fastify' ? { cache: false } : {},
      }),
    ],
  });
  if (setup.clock) builder = builder.overrideProvider(Clock).useValue(setup.clock);
  const moduleRef = await builder.compile();
  const app = configureSampleApp(
    moduleRef.createNestApplication(createHttpAdapter(adapter), { logger: false }),
  );
  await app.init();
  if (adapter === 'fastify') await app.getHttpAdapter().getInstance().ready();
  await app.listen(0, '127.0.0.1');
  const port = Number(new URL(await app.getUrl()).port);
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    port,
    dataSource: app.get(DataSource),
    close: () => app.close(),
  };
}

export const USER_AGENTS = {
  firefoxWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0',
  safariIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  chromeLinux:
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
} as const;

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * A client of the sample's JSON API that behaves like the page: keeps cookies as a browser does
 * (Secure ones too, over http here, which supertest's agent would drop; Max-Age=0 deletes),
 * and sends the CSRF token from `GET /api/csrf` on every unsafe request, fetching a new one
 * whenever the session cookie changed (sign-in, regeneration, sign-out).
 */
export class SampleClient {
  /** Cookies by name, as the server last set them. */
  readonly cookies = new Map<string, string>();
  private csrfToken: string | null = null;

  constructor(
    readonly url: string,
    readonly userAgent: string = USER_AGENTS.firefoxWindows,
  ) {}

  /** The session cookie's value, or `null` when the client has none. */
  get token(): string | null {
    return this.cookies.get(SAMPLE_COOKIE) ?? null;
  }

  get(path: string): Promise<request.Response> {
    return this.send('GET', path);
  }

  post(path: string, body?: object): Promise<request.Response> {
    return this.send('POST', path, body);
  }

  delete(path: string): Promise<request.Response> {
    return this.send('DELETE', path);
  }

  /** The Cookie header the client sends (empty when it has no cookie). */
  get cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** `POST /graphql` with the CSRF token, as the page would send an operation. */
  graphql(query: string, variables?: Record<string, unknown>): Promise<request.Response> {
    return this.post('/graphql', variables ? { query, variables } : { query });
  }

  /** Signs in and expects it to work. */
  async signIn(
    username: string,
    password: string,
    rememberMe?: boolean,
  ): Promise<request.Response> {
    const response = await this.post('/api/auth/login', { username, password, rememberMe });
    if (response.status !== 200) {
      throw new Error(`sign-in of ${username} failed: ${response.status} ${response.text}`);
    }
    return response;
  }

  async send(method: string, path: string, body?: object): Promise<request.Response> {
    // First: fetching the token may start the session whose cookie this request carries.
    const csrfToken = UNSAFE.has(method) ? await this.csrf() : undefined;
    let test = request(this.url)
      [method.toLowerCase() as 'get' | 'post' | 'delete'](path)
      .set('User-Agent', this.userAgent)
      .set('Accept', 'application/json');
    const cookie = this.cookieHeader;
    if (cookie) test = test.set('Cookie', cookie);
    if (csrfToken !== undefined) test = test.set('x-csrf-token', csrfToken);
    const response = await (body === undefined ? test : test.send(body));
    this.keepCookies(response);
    return response;
  }

  private async csrf(): Promise<string> {
    if (this.csrfToken === null) {
      const response = await this.get('/api/csrf');
      if (response.status !== 200) throw new Error(`GET /api/csrf: ${response.status}`);
      this.csrfToken = response.body.token as string;
    }
    return this.csrfToken;
  }

  private keepCookies(response: request.Response): void {
    const before = this.token;
    const lines = (response.headers['set-cookie'] as unknown as string[] | undefined) ?? [];
    for (const line of lines) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      const [name, value] = [pair.slice(0, eq).trim(), pair.slice(eq + 1).trim()];
      if (/;\s*max-age=0(;|$)/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    if (this.token !== before) this.csrfToken = null;
  }
}

/** The response is a denial with this status and `code`. */
export function expectDenied(response: request.Response, status: number, code: string): void {
  expect({ status: response.status, code: response.body.code }).toEqual({ status, code });
}
