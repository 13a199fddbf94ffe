import { generateToken } from '../core/session-token';
import { ResolvedCookieOptions, resolveSessionOptions } from '../options/resolve-session-options';
import {
  MAX_CANDIDATES,
  readSessionCookie,
  serializeClearingCookie,
  serializeSessionCookie,
} from './session-cookie';

const NAME = '__Host-sid';

/** Tokens whose first character is a letter, so that percent-encoding it is easy. */
function token(): string {
  for (;;) {
    const candidate = generateToken();
    if (/^[A-Za-z]/.test(candidate)) return candidate;
  }
}

const t1 = token();
const t2 = token();
const t3 = token();
const t4 = token();

describe('readSessionCookie: well-formed headers', () => {
  it('no Cookie header: nothing present', () => {
    expect(readSessionCookie(undefined, NAME)).toMatchObject({ present: false, tokens: [] });
  });

  it('an empty Cookie header: nothing present', () => {
    expect(readSessionCookie('', NAME)).toMatchObject({ present: false, tokens: [] });
  });

  it('only other cookies: nothing present', () => {
    expect(readSessionCookie('a=1; b=2', NAME)).toMatchObject({ present: false, tokens: [] });
  });

  it("the name inside another cookie's value or name is not the session cookie", () => {
    expect(readSessionCookie(`a=${NAME}; x${NAME}=${t1}; ${NAME}x=${t2}`, NAME)).toMatchObject({
      present: false,
      tokens: [],
    });
  });

  it('reads the token of the session cookie alone', () => {
    expect(readSessionCookie(`${NAME}=${t1}`, NAME)).toMatchObject({ present: true, tokens: [t1] });
  });

  it('reads the token among other cookies', () => {
    expect(readSessionCookie(`a=1; ${NAME}=${t1}; b=2`, NAME)).toMatchObject({
      present: true,
      tokens: [t1],
    });
  });

  it('tolerates the spaces around a pair and around "="', () => {
    expect(readSessionCookie(`a=1;   ${NAME}=${t1}   ;b=2`, NAME)).toMatchObject({
      present: true,
      tokens: [t1],
    });
    expect(readSessionCookie(`a=1;${NAME} = ${t1}`, NAME)).toMatchObject({
      present: true,
      tokens: [t1],
    });
  });

  it('reads the cookie under a configured name (sid)', () => {
    expect(readSessionCookie(`sid=${t1}`, 'sid')).toMatchObject({ present: true, tokens: [t1] });
    expect(readSessionCookie(`${NAME}=${t1}`, 'sid')).toMatchObject({ present: false, tokens: [] });
  });

  it('R1 accepts the all-zero ID by shape (strict mode then finds no row for it)', () => {
    const zero = Buffer.alloc(32).toString('base64url');
    expect(readSessionCookie(`${NAME}=${zero}`, NAME)).toMatchObject({
      present: true,
      tokens: [zero],
    });
  });
});

describe('readSessionCookie: R16 bad inputs the cookie parser must survive', () => {
  it('R16 a 4 KB value is present but gives no token', () => {
    expect(readSessionCookie(`${NAME}=${'A'.repeat(4096)}`, NAME)).toMatchObject({
      present: true,
      tokens: [],
    });
  });

  it('R16 a token repeated to 4 KB is present but gives no token', () => {
    expect(readSessionCookie(`${NAME}=${t1.repeat(96)}`, NAME)).toMatchObject({
      present: true,
      tokens: [],
    });
  });

  it('R16 1,000 other pairs before the session cookie: the token is still found', () => {
    const others = Array.from({ length: 1_000 }, (_, index) => `c${index}=${'x'.repeat(20)}`);
    expect(readSessionCookie([...others, `${NAME}=${t1}`].join('; '), NAME)).toMatchObject({
      present: true,
      tokens: [t1],
    });
  });

  it(`R16 1,000 session pairs with distinct valid tokens: at most ${MAX_CANDIDATES} in header order`, () => {
    const many = [t1, t2, t3, ...Array.from({ length: 997 }, () => generateToken())];
    const header = many.map((value) => `${NAME}=${value}`).join('; ');
    expect(MAX_CANDIDATES).toBe(3);
    expect(readSessionCookie(header, NAME)).toMatchObject({ present: true, tokens: [t1, t2, t3] });
  });

  it('R16 1,000 session pairs with bad values: present, no token', () => {
    const header = Array.from({ length: 1_000 }, (_, i) => `${NAME}=bad${i}`).join('; ');
    expect(readSessionCookie(header, NAME)).toMatchObject({ present: true, tokens: [] });
  });

  it('R16 several Cookie headers (an array) are read as one list in order', () => {
    expect(readSessionCookie(['a=1', `${NAME}=${t1}`], NAME)).toMatchObject({
      present: true,
      tokens: [t1],
    });
    expect(readSessionCookie([`${NAME}=${t2}; a=1`, `b=2; ${NAME}=${t1}`], NAME)).toMatchObject({
      present: true,
      tokens: [t2, t1],
    });
  });

  it('R16 an empty array of Cookie headers: nothing present', () => {
    expect(readSessionCookie([], NAME)).toMatchObject({ present: false, tokens: [] });
  });

  it('R16 a token split across two Cookie headers is not glued back together', () => {
    expect(readSessionCookie([`${NAME}=${t1.slice(0, 20)}`, t1.slice(20)], NAME)).toMatchObject({
      present: true,
      tokens: [],
    });
  });

  it('R16 duplicate names (cookie tossing): distinct well-formed tokens in header order', () => {
    expect(readSessionCookie(`${NAME}=${t2}; ${NAME}=${t1}`, NAME)).toMatchObject({
      present: true,
      tokens: [t2, t1],
    });
  });

  it('R16 duplicate names with the same token give it once', () => {
    expect(readSessionCookie(`${NAME}=${t1}; ${NAME}=${t1}; ${NAME}=${t2}`, NAME)).toMatchObject({
      present: true,
      tokens: [t1, t2],
    });
  });

  it(`R16 duplicate names: the first ${MAX_CANDIDATES} distinct tokens, later ones dropped`, () => {
    const header = [t1, t2, t3, t4].map((value) => `${NAME}=${value}`).join('; ');
    expect(readSessionCookie(header, NAME)).toMatchObject({ present: true, tokens: [t1, t2, t3] });
  });

  it('R16 duplicate names: malformed values are skipped and do not use up a slot', () => {
    const header = `${NAME}=bad; ${NAME}=${t1}; ${NAME}=; ${NAME}=${t2}; ${NAME}="x"; ${NAME}=${t3}`;
    expect(readSessionCookie(header, NAME)).toMatchObject({ present: true, tokens: [t1, t2, t3] });
  });

  it.each(['__host-sid', '__HOST-SID', '__Host-SID', '__host-Sid', '__Host-Sid'])(
    'R16 a case variant of the name (%s) is ignored',
    (variant) => {
      expect(readSessionCookie(`${variant}=${t1}`, NAME)).toMatchObject({
        present: false,
        tokens: [],
      });
      expect(readSessionCookie(`${variant}=${t1}; ${NAME}=${t2}`, NAME)).toMatchObject({
        present: true,
        tokens: [t2],
      });
    },
  );

  it.each([
    'x__Host-sid',
    '__Host-sid2',
    '__Host-sidx',
    'Host-sid',
    '__Host-',
    'sid',
    '__Secure-sid',
  ])('R16 a name that only resembles the session cookie (%s) is ignored', (other) => {
    expect(readSessionCookie(`${other}=${t1}`, NAME)).toMatchObject({ present: false, tokens: [] });
  });

  it('R16 nameless pairs are ignored', () => {
    expect(readSessionCookie(`=${t1}`, NAME)).toMatchObject({ present: false, tokens: [] });
    expect(readSessionCookie(`=${t1}; = ${t2}; ${t3}`, NAME)).toMatchObject({
      present: false,
      tokens: [],
    });
    expect(readSessionCookie('; ;;= ;=', NAME)).toMatchObject({ present: false, tokens: [] });
  });

  it('R16 a pair with the name but no "=" is not the session cookie', () => {
    expect(readSessionCookie(NAME, NAME)).toMatchObject({ present: false, tokens: [] });
    expect(readSessionCookie(`a=1; ${NAME}; b=${t1}`, NAME)).toMatchObject({
      present: false,
      tokens: [],
    });
  });

  it('R16 a comma is no separator: "a=1, sid=<token>" gives no session cookie', () => {
    expect(readSessionCookie(`a=1, ${NAME}=${t1}`, NAME)).toMatchObject({
      present: false,
      tokens: [],
    });
    expect(readSessionCookie(`a=1,${NAME}=${t1}`, NAME)).toMatchObject({
      present: false,
      tokens: [],
    });
    expect(readSessionCookie(`a=1, sid=${t1}`, 'sid')).toMatchObject({
      present: false,
      tokens: [],
    });
  });

  it('R16 a comma is no separator: "sid=<token>, a=1" is present but not accepted', () => {
    expect(readSessionCookie(`${NAME}=${t1}, a=1`, NAME)).toMatchObject({
      present: true,
      tokens: [],
    });
    expect(readSessionCookie(`${NAME}=${t1},${NAME}=${t2}`, NAME)).toMatchObject({
      present: true,
      tokens: [],
    });
  });

  it('R16 a comma-joined value next to a valid pair: only the valid pair counts', () => {
    expect(readSessionCookie(`${NAME}=${t1}, a=1; ${NAME}=${t2}`, NAME)).toMatchObject({
      present: true,
      tokens: [t2],
    });
  });

  it.each(['%E0%A4%A', '%00', '%', '%%', '%ZZ', '%E0%A4%A' + 'A'.repeat(34)])(
    'R16 bad percent-encoding %j is present but gives no token, without throwing',
    (value) => {
      expect(readSessionCookie(`${NAME}=${value}`, NAME)).toMatchObject({
        present: true,
        tokens: [],
      });
    },
  );

  it('R16 a percent-encoded token is not decoded', () => {
    const encoded = `%${t1.charCodeAt(0).toString(16).toUpperCase()}${t1.slice(1)}`;
    expect(decodeURIComponent(encoded)).toBe(t1);
    expect(readSessionCookie(`${NAME}=${encoded}`, NAME)).toMatchObject({
      present: true,
      tokens: [],
    });
  });

  it('R16 a NUL byte before, inside or after the token gives no token', () => {
    for (const value of [`\0${t1}`, `${t1.slice(0, 20)}\0${t1.slice(20)}`, `${t1}\0`]) {
      expect(readSessionCookie(`${NAME}=${value}`, NAME)).toMatchObject({
        present: true,
        tokens: [],
      });
    }
  });

  it('R16 CR/LF inside the token give no token', () => {
    for (const value of [
      `${t1.slice(0, 20)}\r\n${t1.slice(20)}`,
      `${t1.slice(0, 20)}\n${t1.slice(20)}`,
      `${t1.slice(0, 20)}\r${t1.slice(20)}`,
    ]) {
      expect(readSessionCookie(`${NAME}=${value}`, NAME)).toMatchObject({
        present: true,
        tokens: [],
      });
    }
  });

  it('R16 a header-injection attempt after the token gives no token', () => {
    expect(readSessionCookie(`${NAME}=${t1}\r\nSet-Cookie: x=1`, NAME)).toMatchObject({
      present: true,
      tokens: [],
    });
  });

  it('R16 other control characters inside the token give no token', () => {
    for (const control of ['\x01', '\x1f', '\x7f', '\t']) {
      const value = `${t1.slice(0, 20)}${control}${t1.slice(20)}`;
      expect(readSessionCookie(`${NAME}=${value}`, NAME)).toMatchObject({
        present: true,
        tokens: [],
      });
    }
  });

  it('R16 a double-quoted token is present but not accepted', () => {
    expect(readSessionCookie(`${NAME}="${t1}"`, NAME)).toMatchObject({ present: true, tokens: [] });
  });

  it('R16 a single-quoted or half-quoted token is present but not accepted', () => {
    expect(readSessionCookie(`${NAME}='${t1}'`, NAME)).toMatchObject({ present: true, tokens: [] });
    expect(readSessionCookie(`${NAME}="${t1}`, NAME)).toMatchObject({ present: true, tokens: [] });
  });

  it('R16 an empty value is present but gives no token', () => {
    expect(readSessionCookie(`${NAME}=`, NAME)).toMatchObject({ present: true, tokens: [] });
    expect(readSessionCookie(`${NAME}=   ; a=1`, NAME)).toMatchObject({
      present: true,
      tokens: [],
    });
    expect(readSessionCookie(`${NAME}=""`, NAME)).toMatchObject({ present: true, tokens: [] });
  });

  it('R16 an empty value does not hide a later valid pair', () => {
    expect(readSessionCookie(`${NAME}=; ${NAME}=${t1}`, NAME)).toMatchObject({
      present: true,
      tokens: [t1],
    });
  });

  it('R16 non-ASCII values give no token', () => {
    for (const value of [
      `é${t1.slice(1)}`,
      `${t1.slice(0, 42)}é`,
      `\u0410${t1.slice(1)}`,
      `😀${t1.slice(2)}`,
      `${t1}é`,
    ]) {
      expect(readSessionCookie(`${NAME}=${value}`, NAME)).toMatchObject({
        present: true,
        tokens: [],
      });
    }
  });

  it('R16 invalid UTF-8 bytes (as Node decodes them, latin1) give no token', () => {
    const header = Buffer.concat([
      Buffer.from(`${NAME}=${t1.slice(0, 41)}`),
      Buffer.from([0xc3, 0x28]),
    ]).toString('latin1');
    expect(readSessionCookie(header, NAME)).toMatchObject({ present: true, tokens: [] });
  });

  it('R16 a non-ASCII name is not the session cookie', () => {
    expect(readSessionCookie(`__H\u043est-sid=${t1}`, NAME)).toMatchObject({
      present: false,
      tokens: [],
    });
  });

  it.each([
    "' OR '1'='1",
    "x' OR 1=1 --",
    "'; DROP TABLE session; --",
    '1 UNION SELECT id_hash FROM session',
    '\\x00',
  ])('R16 the SQL string %j gives no token', (sql) => {
    expect(readSessionCookie(`${NAME}=${sql}`, NAME)).toMatchObject({ present: true, tokens: [] });
  });

  it('R16 prototype keys as cookie names are ignored and pollute nothing', () => {
    const header = `__proto__=${t1}; constructor=${t2}; toString=x; hasOwnProperty=y; ${NAME}=${t3}`;
    expect(readSessionCookie(header, NAME)).toMatchObject({ present: true, tokens: [t3] });
    expect(readSessionCookie(`__proto__=${t1}; constructor=${t2}`, NAME)).toMatchObject({
      present: false,
      tokens: [],
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });

  it('R16 a "__proto__" pair with a JSON-looking value does not pollute Object.prototype', () => {
    readSessionCookie('__proto__={"polluted":true}; constructor[prototype][polluted]=1', NAME);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('R16 truncated, padded and base64 (not base64url) IDs give no token', () => {
    const standard = Buffer.from(t1, 'base64url').toString('base64');
    for (const value of [t1.slice(0, 42), t1.slice(0, 10), `${t1}=`, `${t1}A`, standard]) {
      expect(readSessionCookie(`${NAME}=${value}`, NAME)).toMatchObject({
        present: true,
        tokens: [],
      });
    }
  });

  it('R16 a non-canonical spelling of a token gives no token', () => {
    const last = t1[42];
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const nonCanonical = t1.slice(0, 42) + alphabet[alphabet.indexOf(last) + 1];
    expect(readSessionCookie(`${NAME}=${nonCanonical}`, NAME)).toMatchObject({
      present: true,
      tokens: [],
    });
  });

  it('R7 a token given under another name (as a query-like or header-like cookie) is ignored', () => {
    expect(readSessionCookie(`token=${t1}; session=${t2}; sid=${t3}`, NAME)).toMatchObject({
      present: false,
      tokens: [],
    });
  });
});

describe('serializeSessionCookie / serializeClearingCookie', () => {
  const defaults = resolveSessionOptions(undefined).cookie;

  function attributesOf(setCookie: string): { pair: string; attributes: string[] } {
    const [pair, ...attributes] = setCookie.split('; ');
    return { pair, attributes };
  }

  it('R6 default session cookie: __Host-sid, Path=/, HttpOnly, Secure, SameSite=Lax only', () => {
    const setCookie = serializeSessionCookie(defaults, t1);
    expect(setCookie).toBe(`__Host-sid=${t1}; Path=/; HttpOnly; Secure; SameSite=Lax`);
    const { pair, attributes } = attributesOf(setCookie);
    expect(pair).toBe(`__Host-sid=${t1}`);
    expect(attributes.sort()).toEqual(['HttpOnly', 'Path=/', 'SameSite=Lax', 'Secure']);
  });

  it('R6 the session cookie has no Domain, Expires or Max-Age', () => {
    const setCookie = serializeSessionCookie(defaults, t1).toLowerCase();
    expect(setCookie).not.toContain('domain');
    expect(setCookie).not.toContain('expires');
    expect(setCookie).not.toContain('max-age');
  });

  it('R6 name and value fit in 4,096 bytes', () => {
    const { pair } = attributesOf(serializeSessionCookie(defaults, t1));
    expect(Buffer.byteLength(pair)).toBeLessThanOrEqual(4096);
  });

  it('R6 the cookie the serializer writes is the cookie the reader accepts', () => {
    const { pair } = attributesOf(serializeSessionCookie(defaults, t1));
    expect(readSessionCookie(pair, defaults.name)).toMatchObject({ present: true, tokens: [t1] });
  });

  it('R6 R10 default clearing cookie: the same attributes plus Max-Age=0 and an Expires in 1970', () => {
    const setCookie = serializeClearingCookie(defaults);
    expect(setCookie).toBe(
      '__Host-sid=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
    );
    const { pair, attributes } = attributesOf(setCookie);
    expect(pair).toBe('__Host-sid=');
    const expires = attributes.find((attribute) => attribute.startsWith('Expires='));
    expect(Date.parse(expires!.slice('Expires='.length))).toBe(0);
    expect(attributes).toContain('Max-Age=0');
    const sessionAttributes = attributesOf(serializeSessionCookie(defaults, t1)).attributes;
    expect(attributes.filter((a) => !/^(Max-Age|Expires)=/.test(a))).toEqual(sessionAttributes);
  });

  it('R6 the clearing cookie carries no token', () => {
    expect(
      readSessionCookie(attributesOf(serializeClearingCookie(defaults)).pair, NAME),
    ).toMatchObject({
      present: true,
      tokens: [],
    });
  });

  const secureDomain: ResolvedCookieOptions = {
    name: '__Secure-sid',
    secure: true,
    sameSite: 'lax',
    domain: 'example.com',
    path: '/',
  };

  it('R6 with a domain: Domain is written on both cookies', () => {
    expect(serializeSessionCookie(secureDomain, t1)).toBe(
      `__Secure-sid=${t1}; Path=/; Domain=example.com; HttpOnly; Secure; SameSite=Lax`,
    );
    expect(serializeClearingCookie(secureDomain)).toBe(
      '__Secure-sid=; Path=/; Domain=example.com; HttpOnly; Secure; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
    );
  });

  it('R20 with secure false: no Secure attribute on either cookie, HttpOnly kept', () => {
    const insecure = resolveSessionOptions({ cookie: { secure: false } }).cookie;
    expect(serializeSessionCookie(insecure, t1)).toBe(`sid=${t1}; Path=/; HttpOnly; SameSite=Lax`);
    expect(serializeClearingCookie(insecure)).toBe(
      'sid=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
    );
  });

  it('R6 sameSite strict is written SameSite=Strict', () => {
    const strict = { ...defaults, sameSite: 'strict' as const };
    expect(serializeSessionCookie(strict, t1)).toBe(
      `__Host-sid=${t1}; Path=/; HttpOnly; Secure; SameSite=Strict`,
    );
    expect(serializeClearingCookie(strict)).toBe(
      '__Host-sid=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
    );
  });

  it('R6 sameSite none is written SameSite=None, with Secure', () => {
    const none = { ...defaults, sameSite: 'none' as const };
    expect(serializeSessionCookie(none, t1)).toBe(
      `__Host-sid=${t1}; Path=/; HttpOnly; Secure; SameSite=None`,
    );
    expect(serializeClearingCookie(none)).toBe(
      '__Host-sid=; Path=/; HttpOnly; Secure; SameSite=None; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
    );
  });

  it('a configured path is written on both cookies', () => {
    const scoped: ResolvedCookieOptions = { ...secureDomain, domain: undefined, path: '/app' };
    expect(serializeSessionCookie(scoped, t1)).toBe(
      `__Secure-sid=${t1}; Path=/app; HttpOnly; Secure; SameSite=Lax`,
    );
    expect(serializeClearingCookie(scoped)).toMatch(/^__Secure-sid=; Path=\/app; HttpOnly;/);
  });
});

describe('readSessionCookie: only spaces and tabs are trimmed', () => {
  const token = generateToken();
  it.each([
    ['CR LF after the value', `__Host-sid=${token}\r\n`],
    ['no-break space after the value', `__Host-sid=${token}\u00a0`],
    ['byte-order mark before the name', `\ufeff__Host-sid=${token}`],
    ['vertical tab before the value', `__Host-sid=\u000b${token}`],
  ])('R16 %s makes the value malformed', (_, header) => {
    expect(readSessionCookie(header, '__Host-sid').tokens).toEqual([]);
  });

  it('spaces and tabs around a pair are allowed', () => {
    expect(readSessionCookie(` \t__Host-sid=${token} \t`, '__Host-sid').tokens).toEqual([token]);
  });
});

describe('readSessionCookie: duplicate count', () => {
  it('R16 counts every pair with the name, well-formed or not', () => {
    const [t1, t2] = [generateToken(), generateToken()];
    expect(readSessionCookie(`${NAME}=${t1}`, NAME).count).toBe(1);
    expect(readSessionCookie(`${NAME}=${t1}; a=1; ${NAME}=${t2}; ${NAME}=bad`, NAME).count).toBe(3);
    expect(readSessionCookie('a=1', NAME).count).toBe(0);
  });
});
