import { CookieJar } from './cookie-jar';

const SECURE = 'Path=/; HttpOnly; Secure; SameSite=Lax';

describe('CookieJar', () => {
  it('keeps Secure cookies, which a test server sends over plain http', () => {
    const jar = new CookieJar();
    jar.receive([`__Host-sid=abc; ${SECURE}`]);
    expect(jar.get('__Host-sid')).toBe('abc');
    expect(jar.header()).toBe('__Host-sid=abc');
  });

  it('replaces a cookie by name and sends every cookie in one header', () => {
    const jar = new CookieJar();
    jar.receive([`__Host-sid=one; ${SECURE}`, `__Host-remember=s.v; ${SECURE}; Max-Age=60`]);
    jar.receive([`__Host-sid=two; ${SECURE}`]);
    expect(jar.header()).toBe('__Host-sid=two; __Host-remember=s.v');
  });

  it.each([
    ['Max-Age=0', `__Host-sid=; ${SECURE}; Max-Age=0`],
    ['a negative Max-Age', `__Host-sid=x; ${SECURE}; Max-Age=-1`],
    ['an Expires in the past', `__Host-sid=; ${SECURE}; Expires=Thu, 01 Jan 1970 00:00:00 GMT`],
    [
      'Max-Age=0 beside a future Expires (Max-Age wins)',
      `__Host-sid=x; Max-Age=0; Expires=Fri, 01 Jan 2100 00:00:00 GMT`,
    ],
  ])('deletes a cookie set with %s', (_, line) => {
    const jar = new CookieJar();
    jar.set('__Host-sid', 'abc');
    jar.receive([line]);
    expect(jar.get('__Host-sid')).toBeUndefined();
    expect(jar.header()).toBeUndefined();
  });

  it('a browser restart forgets cookies without Max-Age or Expires and keeps the others', () => {
    const jar = new CookieJar();
    jar.receive([
      `__Host-sid=session; ${SECURE}`,
      `__Host-remember=remembered; ${SECURE}; Max-Age=2592000`,
      `pref=dark; Path=/; Expires=Fri, 01 Jan 2100 00:00:00 GMT`,
    ]);
    jar.forgetBrowserSessionCookies();
    expect(jar.entries()).toEqual({ '__Host-remember': 'remembered', pref: 'dark' });
  });

  it('ignores a header line that is not a name=value pair', () => {
    const jar = new CookieJar();
    jar.receive(['garbage', '=nameless; Path=/']);
    expect(jar.header()).toBeUndefined();
  });
});
