import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import request from 'supertest';
import { ADAPTERS, useTestApp } from './support/test-app';
import { Browser, COOKIE, countRows, ParsedCookie, sessionCookies } from './support/http-client';

function expectSecureAttributes(cookie: ParsedCookie): void {
  expect(cookie.name).toBe('__Host-sid');
  expect(cookie.attributes.path).toBe('/');
  expect(cookie.attributes.httponly).toBe(true);
  expect(cookie.attributes.secure).toBe(true);
  expect(cookie.attributes.samesite).toBe('Lax');
  expect(cookie.attributes.domain).toBeUndefined();
  expect(Buffer.byteLength(`${cookie.name}=${cookie.value}`)).toBeLessThanOrEqual(4096);
}

function expectSessionCookie(cookie: ParsedCookie): void {
  expectSecureAttributes(cookie);
  expect(cookie.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(cookie.attributes.expires).toBeUndefined();
  expect(cookie.attributes['max-age']).toBeUndefined();
}

function expectClearingCookie(cookie: ParsedCookie): void {
  expectSecureAttributes(cookie);
  expect(cookie.value).toBe('');
  expect(cookie.attributes['max-age']).toBe('0');
  expect(new Date(cookie.attributes.expires as string).getTime()).toBe(0);
}

describe.each(ADAPTERS)('cookies (%s)', (adapter) => {
  const t = useTestApp(adapter);

  describe('R6 cookie attributes', () => {
    it('R6 the cookie of a new anonymous session has every secure attribute and no lifetime', async () => {
      const response = await request(t.url).post('/public/data').send({ a: 1 });
      const cookies = sessionCookies(response);
      expect(cookies).toHaveLength(1);
      expectSessionCookie(cookies[0]);
    });

    it('R6 the cookie set at login has every secure attribute and no lifetime', async () => {
      const browser = new Browser(t.url);
      const response = await browser.post('/login', { userId: 'u1' });
      const cookies = sessionCookies(response);
      expect(cookies).toHaveLength(1);
      expectSessionCookie(cookies[0]);
    });

    it('R6 the cookie re-issued by rotation has every secure attribute', async () => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      t.clock.advance(16 * 60_000);
      const response = await browser.get('/private');
      const cookies = sessionCookies(response);
      expect(cookies).toHaveLength(1);
      expectSessionCookie(cookies[0]);
    });

    it('R6 the clearing cookie at logout repeats the same attributes', async () => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      const response = await browser.post('/logout');
      const cookies = sessionCookies(response);
      expect(cookies).toHaveLength(1);
      expectClearingCookie(cookies[0]);
    });

    it('R6 the clearing cookie on a denial repeats the same attributes', async () => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      t.clock.advance(31 * 60_000);
      const response = await browser.get('/private');
      expect(response.status).toBe(401);
      expectClearingCookie(sessionCookies(response)[0]);
    });
  });

  describe('R16 the cookie is untrusted input', () => {
    const token = () => randomBytes(32).toString('base64url');
    const badHeaders: [string, () => string][] = [
      ['4 KB value', () => `${COOKIE}=${'A'.repeat(4096)}`],
      ['1,000 cookie pairs', () => Array.from({ length: 1000 }, (_, i) => `c${i}=${i}`).join('; ')],
      [
        '200 pairs with our name',
        () => Array.from({ length: 200 }, () => `${COOKIE}=${token()}`).join('; '),
      ],
      ['duplicate names, unknown values', () => `${COOKIE}=${token()}; ${COOKIE}=${token()}`],
      ['case variant of the name', () => `__host-sid=${token()}`],
      ['nameless pair', () => `=${token()}`],
      ['pair without =', () => `${COOKIE}`],
      ['comma as separator', () => `a=1, ${COOKIE}=${token()}`],
      ['bad percent-encoding', () => `${COOKIE}=%E0%A4%A`],
      ['percent-encoded NUL', () => `${COOKIE}=%00`],
      ['quoted value', () => `${COOKIE}="${token()}"`],
      ['empty value', () => `${COOKIE}=`],
      ['non-ASCII', () => `${COOKIE}=héllo-wörld`],
      ['SQL string', () => `${COOKIE}=' OR '1'='1`],
      ['SQL string in token shape', () => `${COOKIE}=${"'OR1=1--".padEnd(43, 'A')}`],
      ['__proto__ name', () => `__proto__=${token()}`],
      ['constructor name', () => `constructor=${token()}; toString=1`],
      ['all-zero ID', () => `${COOKIE}=${Buffer.alloc(32).toString('base64url')}`],
      ['truncated ID', () => `${COOKIE}=${token().slice(0, 42)}`],
      ['ID with extra char', () => `${COOKIE}=${token()}A`],
      ['standard base64 alphabet', () => `${COOKIE}=${randomBytes(32).toString('base64')}`],
    ];

    it.each(badHeaders)(
      'R16 %s: anonymous on a public route, 401 on a private one, no row',
      async (_, header) => {
        const cookie = header();
        const open = await request(t.url).get('/public').set('Cookie', cookie);
        expect(open.status).toBe(200);
        expect(open.body.userId).toBeNull();
        const closed = await request(t.url).get('/private').set('Cookie', cookie);
        expect(closed.status).toBe(401);
        expect(closed.body.code).toBe('session_required');
        expect(await countRows(t.dataSource)).toBe(0);
      },
    );

    it('R16 a Cookie header over the server limit gets 431, not a 5xx', async () => {
      const cookie = Array.from({ length: 1000 }, () => `${COOKIE}=${token()}`).join('; ');
      const response = await request(t.url).get('/public').set('Cookie', cookie);
      expect(response.status).toBe(431);
      expect(await countRows(t.dataSource)).toBe(0);
    });

    it('R16 control characters and invalid UTF-8 bytes in the raw header get no 5xx', async () => {
      for (const bytes of [
        Buffer.from(`${COOKIE}=abc\x01def`, 'latin1'),
        Buffer.from([...Buffer.from(`${COOKIE}=`), 0xc3, 0x28, 0xff, 0xfe]),
      ]) {
        const response = await rawGet(t.url, '/public', bytes);
        expect(response).toBeLessThan(500);
      }
      expect(await countRows(t.dataSource)).toBe(0);
    });

    it('R16 several Cookie headers: the valid session among them is used', async () => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      const response = await request(t.url)
        .get('/private')
        .set('Cookie', [`other=1`, `${COOKIE}=${browser.token}`]);
      expect(response.status).toBe(200);
      expect(response.body.userId).toBe('u1');
    });

    it('R16 duplicate names: at most one valid value is accepted (cookie tossing)', async () => {
      const browser = new Browser(t.url);
      await browser.post('/login', { userId: 'u1' });
      const response = await request(t.url)
        .get('/private')
        .set('Cookie', `${COOKIE}=${token()}; ${COOKIE}=${browser.token}; ${COOKIE}=junk`);
      expect(response.status).toBe(200);
      expect(response.body.userId).toBe('u1');
    });

    it('R16 expired, destroyed and replaced real IDs get no 5xx and no access', async () => {
      const expired = new Browser(t.url);
      await expired.post('/login', { userId: 'u1' });
      const destroyed = new Browser(t.url);
      await destroyed.post('/login', { userId: 'u2' });
      const destroyedToken = destroyed.token;
      await destroyed.post('/logout');
      t.clock.advance(31 * 60_000);
      for (const value of [expired.token, destroyedToken]) {
        const response = await request(t.url).get('/private').set('Cookie', `${COOKIE}=${value}`);
        expect(response.status).toBe(401);
      }
    });
  });
});

/** A GET whose Cookie header is sent as raw bytes (supertest would refuse them). */
function rawGet(url: string, path: string, cookie: Buffer): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(
        Buffer.concat([
          Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\nCookie: `),
          cookie,
          Buffer.from('\r\n\r\n'),
        ]),
      );
    });
    let head = '';
    socket.on('data', (chunk) => (head += chunk.toString('latin1')));
    socket.on('end', () => resolve(Number(head.split(' ')[1])));
    socket.on('error', reject);
  });
}

describe.each(ADAPTERS)('R19 ID guessing is noticed (%s)', (adapter) => {
  const t = useTestApp(adapter, {
    options: { idGuessing: { threshold: 5, window: '1m', block: true } },
  });
  const guess = () =>
    request(t.url)
      .get('/public')
      .set('Cookie', `${COOKIE}=${randomBytes(32).toString('base64url')}`);
  const guessingEvents = () => t.events.filter((event) => event.type === 'session.id_guessing');

  it('R19 many unknown IDs from one client produce one event, then 429 until the window ends', async () => {
    for (let i = 0; i < 4; i++) expect((await guess()).status).toBe(200);
    expect(guessingEvents()).toHaveLength(0);
    expect((await guess()).status).toBe(200);
    expect(guessingEvents()).toEqual([
      expect.objectContaining({ count: 5, windowMs: 60_000, blocked: true }),
    ]);
    const blocked = await guess();
    expect(blocked.status).toBe(429);
    expect(blocked.body.code).toBe('session_id_guessing');
    expect((await request(t.url).get('/public')).status).toBe(200);
    expect(await countRows(t.dataSource)).toBe(0);
    t.clock.advance(61_000);
    expect((await guess()).status).toBe(200);
    expect(guessingEvents()).toHaveLength(1);
  });

  it('R19 malformed cookies count as guesses too', async () => {
    t.clock.advance(10 * 60_000);
    for (let i = 0; i < 5; i++) {
      await request(t.url).get('/public').set('Cookie', `${COOKIE}=guess-${i}`);
    }
    expect(guessingEvents()).toHaveLength(1);
  });
});
