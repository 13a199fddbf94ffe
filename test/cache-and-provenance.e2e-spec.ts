import { Controller, Get, Header } from '@nestjs/common';
import request from 'supertest';
import { CurrentSession, JsonValue, Public, Session } from 'nest-session-security';
import { ADAPTERS, useTestApp } from './support/test-app';
import { COOKIE, parseSetCookies } from './support/http-client';
import { TestController } from './support/test.controller';

const HEADER = 'x-csrf-token';

/** Routes whose handlers set caching headers of their own. */
@Public()
@Controller('cache')
class CachingController {
  @Get('private-max-age')
  @Header('Cache-Control', 'private, max-age=60')
  privateMaxAge(@CurrentSession() session: Session<Record<string, JsonValue>>) {
    return { cart: session.get('cart') ?? null };
  }

  @Get('public-max-age')
  @Header('Cache-Control', 'public, max-age=600, immutable')
  publicMaxAge(@CurrentSession() session: Session<Record<string, JsonValue>>) {
    return { cart: session.get('cart') ?? null };
  }

  @Get('no-store')
  @Header('Cache-Control', 'no-store, no-cache, must-revalidate')
  noStore(@CurrentSession() session: Session<Record<string, JsonValue>>) {
    return { cart: session.get('cart') ?? null };
  }

  @Get('vary')
  @Header('Vary', 'Accept-Encoding, Accept-Language')
  vary(@CurrentSession() session: Session<Record<string, JsonValue>>) {
    return { cart: session.get('cart') ?? null };
  }
}

/**
 * A browser: keeps every cookie the app sets (whatever the package names them) and sends them
 * back, and knows the CSRF token it was last given.
 */
class Browser {
  private readonly cookies = new Map<string, string>();
  csrf: string | null = null;

  constructor(private readonly url: string) {}

  get hasCookies(): boolean {
    return this.cookies.size > 0;
  }

  private keep(response: request.Response): request.Response {
    for (const cookie of parseSetCookies(response.headers['set-cookie'])) {
      if (cookie.attributes['max-age'] === '0') this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
    return response;
  }

  private withCookies(test: request.Test, headers: Record<string, string | string[]>) {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    if (cookie) test = test.set('Cookie', cookie);
    for (const [name, value] of Object.entries(headers)) test = test.set(name, value as string);
    return test;
  }

  async refreshCsrf(): Promise<string> {
    const response = await this.get('/csrf');
    this.csrf = response.body.token;
    return this.csrf!;
  }

  async get(path: string, headers: Record<string, string | string[]> = {}) {
    return this.keep(await this.withCookies(request(this.url).get(path), headers));
  }

  /** An unsafe request with the CSRF token (when the browser has one) and `headers`. */
  async post(path: string, body: object, headers: Record<string, string | string[]> = {}) {
    const all = this.csrf ? { [HEADER]: this.csrf, ...headers } : headers;
    return this.keep(await this.withCookies(request(this.url).post(path), all).send(body));
  }
}

function varyOf(response: request.Response): string[] {
  return String(response.headers.vary ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
}

/** What every response that belongs to a session must say to caches. */
function expectNotCacheable(response: request.Response, cacheControl = 'no-store'): void {
  expect(response.headers['cache-control']).toBe(cacheControl);
  expect(varyOf(response)).toContain('cookie');
  expect(response.headers.etag).toBeUndefined();
  expect(response.headers['last-modified']).toBeUndefined();
}

describe.each(ADAPTERS)('caching and provenance (%s)', (adapter) => {
  const t = useTestApp(adapter, {
    options: { csrf: { enabled: true, trustedOrigins: ['https://partner.test'] } },
    controllers: [TestController, CachingController],
  });

  /** A browser with an anonymous session that holds a cart. */
  async function withCart(): Promise<Browser> {
    const browser = new Browser(t.url);
    await browser.refreshCsrf();
    const write = await browser.post('/public/data', { cart: ['book'] });
    expect(write.status).toBe(200);
    return browser;
  }

  describe('R10 responses that belong to a session are not cacheable', () => {
    it('R10 the anonymous cart write: no-store, Vary: Cookie, no ETag', async () => {
      const browser = new Browser(t.url);
      await browser.refreshCsrf();
      const write = await browser.post('/public/data', { cart: ['book'] });
      expect(write.status).toBe(200);
      expect(write.body.data.cart).toEqual(['book']);
      expectNotCacheable(write);
      expect(varyOf(write)).toEqual(expect.arrayContaining(['origin', 'sec-fetch-site']));
    });

    it('R10 reading the anonymous cart with the session cookie: no-store, Vary: Cookie, no ETag', async () => {
      const browser = await withCart();
      const read = await browser.get('/public');
      expect(read.status).toBe(200);
      expect(read.body.data.cart).toEqual(['book']);
      expectNotCacheable(read);
    });

    it('R10 a signed-in read: no-store and Vary: Cookie', async () => {
      const browser = new Browser(t.url);
      await browser.refreshCsrf();
      expect((await browser.post('/login', { userId: 'u1' })).status).toBe(200);
      const read = await browser.get('/private');
      expect(read.status).toBe(200);
      expectNotCacheable(read);
    });

    it('R10 a cookie of ours that reaches no session (cleared): no-store and Vary: Cookie', async () => {
      const response = await request(t.url)
        .get('/public')
        .set('Cookie', `${COOKIE}=${'A'.repeat(43)}`);
      expect(response.status).toBe(200);
      expectNotCacheable(response);
    });

    it('R10 handing out a CSRF token without a cookie: no-store and Vary: Cookie', async () => {
      const response = await request(t.url).get('/csrf');
      expectNotCacheable(response);
    });

    it('R10 a refusal of a request with a session cookie: no-store and Vary: Cookie', async () => {
      const browser = await withCart();
      browser.csrf = null;
      const refused = await browser.post('/public/data', { cart: [] });
      expect(refused.status).toBe(403);
      // The error body is written by Nest's exception filter after the guard refused; Express
      // may give it an ETag, harmless on a response no cache may store.
      expect(refused.headers['cache-control']).toBe('no-store');
      expect(varyOf(refused)).toContain('cookie');
    });

    it("R10 a handler's own private is kept and no-store added; max-age goes", async () => {
      const browser = await withCart();
      const response = await browser.get('/cache/private-max-age');
      expect(response.body.cart).toEqual(['book']);
      expectNotCacheable(response, 'private, no-store');
    });

    it("R10 a handler's public caching is replaced by no-store for a session", async () => {
      const browser = await withCart();
      expectNotCacheable(await browser.get('/cache/public-max-age'));
    });

    it("R10 a handler's own no-store is not clobbered", async () => {
      const browser = await withCart();
      expectNotCacheable(
        await browser.get('/cache/no-store'),
        'no-store, no-cache, must-revalidate',
      );
    });

    it("R10 Vary: Cookie is added to the handler's own Vary", async () => {
      const browser = await withCart();
      const response = await browser.get('/cache/vary');
      expect(varyOf(response)).toEqual(['accept-encoding', 'accept-language', 'cookie']);
    });
  });

  describe('R10 public responses without a session stay as the application made them', () => {
    it('R10 no cookie, no session: no Cache-Control, no Vary added', async () => {
      const response = await request(t.url).get('/public');
      expect(response.status).toBe(200);
      expect(response.headers['cache-control']).toBeUndefined();
      expect(response.headers.vary).toBeUndefined();
      expect(response.headers['set-cookie']).toBeUndefined();
      // Express's own ETag stays: a public page keeps its validator.
      if (adapter === 'express') expect(response.headers.etag).toBeDefined();
    });

    it('R10 a cookie that is not ours adds nothing', async () => {
      const response = await request(t.url).get('/public').set('Cookie', 'theme=dark');
      expect(response.headers['cache-control']).toBeUndefined();
      expect(response.headers.vary).toBeUndefined();
    });

    it("R10 a handler's own caching headers are untouched without a session", async () => {
      const publicPage = await request(t.url).get('/cache/public-max-age');
      expect(publicPage.headers['cache-control']).toBe('public, max-age=600, immutable');
      const privatePage = await request(t.url).get('/cache/private-max-age');
      expect(privatePage.headers['cache-control']).toBe('private, max-age=60');
      const varied = await request(t.url).get('/cache/vary');
      expect(varied.headers.vary).toBe('Accept-Encoding, Accept-Language');
    });

    it('R10 an unsafe request without a cookie that gets no session adds no Cache-Control', async () => {
      const response = await request(t.url).post('/webhook').send({});
      expect(response.status).toBe(200);
      expect(response.headers['cache-control']).toBeUndefined();
    });
  });

  describe('R15 Origin is compared in scheme, host and port', () => {
    const origin = () => new URL(t.url).origin;

    const refused = (response: request.Response) => {
      expect(response.status).toBe(403);
      expect(response.body.code).toBe('csrf_origin_rejected');
    };

    it('R15 the own origin (http, host, port) passes', async () => {
      const browser = await withCart();
      const response = await browser.post('/public/data', { more: 1 }, { Origin: origin() });
      expect(response.status).toBe(200);
    });

    it('R15 an https Origin on the http server is refused, even with a valid token', async () => {
      const browser = await withCart();
      const https = origin().replace(/^http:/, 'https:');
      refused(await browser.post('/public/data', { more: 1 }, { Origin: https }));
    });

    it('R15 user info before the own host is refused', async () => {
      const browser = await withCart();
      const evil = origin().replace('http://', 'http://evil@');
      refused(await browser.post('/public/data', { more: 1 }, { Origin: evil }));
    });

    it('R15 the own host on another port is refused', async () => {
      const browser = await withCart();
      const url = new URL(t.url);
      const other = `http://${url.hostname}:${Number(url.port) + 1}`;
      refused(await browser.post('/public/data', { more: 1 }, { Origin: other }));
    });

    it('R15 a path after the own origin is refused', async () => {
      const browser = await withCart();
      refused(await browser.post('/public/data', { more: 1 }, { Origin: `${origin()}/` }));
    });

    it('R15 a trusted origin passes, on its own scheme only', async () => {
      const browser = await withCart();
      const ok = await browser.post(
        '/public/data',
        { more: 1 },
        { Origin: 'https://partner.test' },
      );
      expect(ok.status).toBe(200);
      refused(await browser.post('/public/data', { more: 2 }, { Origin: 'http://partner.test' }));
      refused(
        await browser.post('/public/data', { more: 3 }, { Origin: 'https://x@partner.test' }),
      );
    });

    it('R15 two Sec-Fetch-Site headers are cross-site', async () => {
      const browser = await withCart();
      refused(
        await browser.post(
          '/public/data',
          { more: 1 },
          { 'Sec-Fetch-Site': ['same-origin', 'cross-site'], Origin: origin() },
        ),
      );
      refused(
        await browser.post(
          '/public/data',
          { more: 2 },
          { 'Sec-Fetch-Site': ['same-origin', 'same-origin'], Origin: origin() },
        ),
      );
    });

    it('R15 Sec-Fetch-Site joined or unknown is cross-site; exactly one known token passes', async () => {
      const browser = await withCart();
      for (const site of ['same-origin, cross-site', 'same-origin,same-origin', 'bogus', '']) {
        refused(await browser.post('/public/data', { more: 1 }, { 'Sec-Fetch-Site': site }));
      }
      const ok = await browser.post(
        '/public/data',
        { more: 2 },
        { 'Sec-Fetch-Site': 'same-origin', Origin: origin() },
      );
      expect(ok.status).toBe(200);
    });

    it('R15 a refused request changes nothing', async () => {
      const browser = await withCart();
      refused(
        await browser.post(
          '/public/data',
          { cart: null },
          { Origin: origin().replace('http://', 'http://evil@') },
        ),
      );
      expect((await browser.get('/public')).body.data.cart).toEqual(['book']);
    });
  });
});

describe.each(ADAPTERS)('R15 the scheme comes from the platform (%s)', (adapter) => {
  describe('behind a trusted proxy', () => {
    const t = useTestApp(adapter, { options: { csrf: { enabled: true } }, trustProxy: true });

    it('R15 X-Forwarded-Proto: https makes the https Origin the own one, and http foreign', async () => {
      const browser = new Browser(t.url);
      await browser.refreshCsrf();
      const https = new URL(t.url).origin.replace(/^http:/, 'https:');
      const forwarded = { 'X-Forwarded-Proto': 'https' };
      const ok = await browser.post('/public/data', { a: 1 }, { ...forwarded, Origin: https });
      expect(ok.status).toBe(200);
      const http = await browser.post(
        '/public/data',
        { a: 2 },
        { ...forwarded, Origin: new URL(t.url).origin },
      );
      expect(http.status).toBe(403);
      expect(http.body.code).toBe('csrf_origin_rejected');
    });
  });

  describe('without a trusted proxy', () => {
    const t = useTestApp(adapter, { options: { csrf: { enabled: true } } });

    it('R15 X-Forwarded-Proto is ignored: the https Origin stays foreign', async () => {
      const browser = new Browser(t.url);
      await browser.refreshCsrf();
      const https = new URL(t.url).origin.replace(/^http:/, 'https:');
      const response = await browser.post(
        '/public/data',
        { a: 1 },
        { 'X-Forwarded-Proto': 'https', Origin: https },
      );
      expect(response.status).toBe(403);
      expect(response.body.code).toBe('csrf_origin_rejected');
      expect(browser.hasCookies).toBe(true);
    });
  });
});
