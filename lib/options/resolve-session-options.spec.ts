import { SessionModuleError, SessionOptionsError } from '../core/errors';
import { resolveSessionOptions } from './resolve-session-options';
import { SessionModuleOptions } from './session-options';
import { SESSION_OPTION_DEFAULTS } from './session-options.table';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The SessionOptionsError thrown for `options`, failing the test when none is thrown. */
function rejection(options: unknown): SessionOptionsError {
  try {
    resolveSessionOptions(options as SessionModuleOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(SessionOptionsError);
    expect(error).toBeInstanceOf(SessionModuleError);
    return error as SessionOptionsError;
  }
  throw new Error('expected resolveSessionOptions to throw');
}

/** The listed problems of a rejection, one per line. */
function problems(options: unknown): string[] {
  const { message } = rejection(options);
  expect(message).toMatch(/^Invalid SessionModule options:/);
  return message
    .split('\n')
    .slice(1)
    .map((line) => line.replace(/^ - /, ''));
}

const DEFAULT_RESOLVED = {
  cookie: { name: '__Host-sid', secure: true, sameSite: 'lax', domain: undefined, path: '/' },
  timings: {
    idleTimeout: 30 * MINUTE,
    absoluteTimeout: 12 * HOUR,
    touchInterval: 60 * SECOND,
    obsoleteGracePeriod: 60 * SECOND,
    obsoleteInFlightLeeway: 5 * SECOND,
    obsoleteRetention: DAY,
    rotationInterval: 15 * MINUTE,
  },
  onObsoleteAccess: 'revoke-all',
  regenerateOnWrite: false,
  preparedStatements: true,
  batchWrites: true,
  guardCheck: true,
  cache: { enabled: true, maxEntries: 10_000, maxBytes: 33_554_432, maxAge: 5 * SECOND },
  maxDataSize: 8192,
  defaultAccess: 'authenticated',
  csrf: { enabled: true, header: 'x-csrf-token', trustedOrigins: [] },
  rememberMe: {
    cookie: {
      name: '__Host-remember',
      secure: true,
      sameSite: 'lax',
      domain: undefined,
      path: '/',
    },
    lifetime: 30 * DAY,
  },
  idGuessing: { threshold: 20, window: MINUTE, block: false },
  maxSessionsPerUser: null,
  sessionLimitPolicy: 'evict-least-recently-used',
  gc: { interval: 10 * MINUTE, batchSize: 1000 },
};

describe('resolveSessionOptions: defaults (DESIGN section 5)', () => {
  it('R6 R20 no options give the documented defaults', () => {
    expect(resolveSessionOptions(undefined)).toEqual(DEFAULT_RESOLVED);
  });

  it('an empty object gives the same defaults', () => {
    expect(resolveSessionOptions({})).toEqual(DEFAULT_RESOLVED);
  });

  it('R6 the default cookie is __Host-sid, secure, lax, path "/" and host-only', () => {
    const { cookie } = resolveSessionOptions({});
    expect(cookie.name).toBe('__Host-sid');
    expect(cookie.secure).toBe(true);
    expect(cookie.sameSite).toBe('lax');
    expect(cookie.path).toBe('/');
    expect(cookie.domain).toBeUndefined();
  });

  it('the exported defaults match the DESIGN table', () => {
    expect(SESSION_OPTION_DEFAULTS).toEqual({
      idleTimeout: '30m',
      absoluteTimeout: '12h',
      touchInterval: '60s',
      obsoleteGracePeriod: '60s',
      obsoleteInFlightLeeway: '5s',
      obsoleteRetention: '1d',
      onObsoleteAccess: 'revoke-all',
      rotationInterval: '15m',
      regenerateOnWrite: false,
      maxDataSize: 8192,
      defaultAccess: 'authenticated',
      sessionLimitPolicy: 'evict-least-recently-used',
      gcInterval: '10m',
      gcBatchSize: 1000,
      preparedStatements: true,
      batchWrites: true,
      guardCheck: true,
      cookie: { secure: true, sameSite: 'lax', path: '/' },
      csrf: { enabled: true, header: 'x-csrf-token', trustedOrigins: [] },
      rememberMe: { lifetime: '30d' },
      idGuessing: { threshold: 20, window: '1m', block: false },
      cache: { enabled: true, maxEntries: 10_000, maxBytes: 33_554_432, maxAge: '5s' },
    });
  });

  it('R8 the default touch interval is min(60 s, idle / 10)', () => {
    expect(resolveSessionOptions({}).timings.touchInterval).toBe(60 * SECOND);
    expect(resolveSessionOptions({ idleTimeout: '5m' }).timings.touchInterval).toBe(30 * SECOND);
    expect(resolveSessionOptions({ idleTimeout: '2h' }).timings.touchInterval).toBe(60 * SECOND);
  });

  it('R8 a configured touch interval is capped at a tenth of the idle timeout', () => {
    const resolved = resolveSessionOptions({ idleTimeout: '10m', touchInterval: '5m' });
    expect(resolved.timings.touchInterval).toBe(MINUTE);
    expect(resolveSessionOptions({ touchInterval: '10s' }).timings.touchInterval).toBe(10 * SECOND);
  });

  it('R20 secure false (explicit) gives the name "sid"', () => {
    const { cookie } = resolveSessionOptions({ cookie: { secure: false } });
    expect(cookie).toEqual({
      name: 'sid',
      secure: false,
      sameSite: 'lax',
      domain: undefined,
      path: '/',
    });
  });

  it('secure true (explicit) keeps __Host-sid', () => {
    expect(resolveSessionOptions({ cookie: { secure: true } }).cookie.name).toBe('__Host-sid');
  });

  it('an empty cookie object keeps every cookie default', () => {
    expect(resolveSessionOptions({ cookie: {} }).cookie).toEqual(DEFAULT_RESOLVED.cookie);
  });
});

describe('resolveSessionOptions: accepted values', () => {
  it('parses every duration option from strings and numbers', () => {
    const { timings } = resolveSessionOptions({
      idleTimeout: '15m',
      absoluteTimeout: 8 * HOUR,
      touchInterval: '30s',
      obsoleteGracePeriod: '5m',
      obsoleteInFlightLeeway: '2s',
      obsoleteRetention: '2d',
      rotationInterval: '10m',
    });
    expect(timings).toEqual({
      idleTimeout: 15 * MINUTE,
      absoluteTimeout: 8 * HOUR,
      touchInterval: 30 * SECOND,
      obsoleteGracePeriod: 5 * MINUTE,
      obsoleteInFlightLeeway: 2 * SECOND,
      obsoleteRetention: 2 * DAY,
      rotationInterval: 10 * MINUTE,
    });
  });

  it('rotationInterval false turns rotation off (0)', () => {
    expect(resolveSessionOptions({ rotationInterval: false }).timings.rotationInterval).toBe(0);
  });

  it('rotationInterval 0 turns rotation off (0)', () => {
    expect(resolveSessionOptions({ rotationInterval: 0 }).timings.rotationInterval).toBe(0);
    expect(resolveSessionOptions({ rotationInterval: '0s' }).timings.rotationInterval).toBe(0);
  });

  it('grace period, retention and touch interval may be 0', () => {
    const { timings } = resolveSessionOptions({
      obsoleteGracePeriod: 0,
      obsoleteRetention: 0,
      touchInterval: 0,
    });
    expect(timings.obsoleteGracePeriod).toBe(0);
    expect(timings.obsoleteRetention).toBe(0);
    expect(timings.touchInterval).toBe(0);
  });

  it('takes the other scalar options as given', () => {
    const resolved = resolveSessionOptions({
      onObsoleteAccess: 'deny',
      regenerateOnWrite: true,
      maxDataSize: 2,
      defaultAccess: 'public',
      guardCheck: false,
    });
    expect(resolved.guardCheck).toBe(false);
    expect(resolved.onObsoleteAccess).toBe('deny');
    expect(resolved.regenerateOnWrite).toBe(true);
    expect(resolved.maxDataSize).toBe(2);
    expect(resolved.defaultAccess).toBe('public');
    expect(resolveSessionOptions({ maxDataSize: 1_048_576 }).maxDataSize).toBe(1_048_576);
  });

  it.each(['lax', 'strict', 'none'] as const)(
    'R6 sameSite %s is accepted with secure',
    (sameSite) => {
      expect(resolveSessionOptions({ cookie: { sameSite } }).cookie.sameSite).toBe(sameSite);
    },
  );

  it('R6 a "__Secure-" name may have a domain and a path', () => {
    expect(
      resolveSessionOptions({
        cookie: { name: '__Secure-sid', domain: 'example.com', path: '/app' },
      }).cookie,
    ).toEqual({
      name: '__Secure-sid',
      secure: true,
      sameSite: 'lax',
      domain: 'example.com',
      path: '/app',
    });
  });

  it('a plain name over plain http may have a domain, a path and SameSite=Strict', () => {
    expect(
      resolveSessionOptions({
        cookie: {
          name: 'app_sid',
          secure: false,
          domain: '.example.com',
          path: '/x',
          sameSite: 'strict',
        },
      }).cookie,
    ).toEqual({
      name: 'app_sid',
      secure: false,
      sameSite: 'strict',
      domain: '.example.com',
      path: '/x',
    });
  });
});

describe('resolveSessionOptions: rejected options name the option and the allowed values', () => {
  it('options that are not an object', () => {
    for (const options of [null, 'x', 5, true, [], [{}], () => ({})]) {
      expect(rejection(options).message).toBe(
        'Invalid SessionModule options: the options must be an object',
      );
    }
  });

  it.each(['idleTimeout', 'absoluteTimeout'])('a negative %s', (option) => {
    expect(problems({ [option]: -1 })).toEqual([
      `${option}: ${option} must be a positive duration: a non-negative integer of milliseconds or a string such as "90s", "30m", "12h", "1d"`,
    ]);
  });

  it.each(['touchInterval', 'obsoleteRetention'])('a negative %s', (option) => {
    expect(problems({ [option]: '-5m' })).toEqual([
      `${option}: ${option} must be a non-negative integer of milliseconds or a string such as "90s", "30m", "12h", "1d"`,
    ]);
  });

  it.each([
    ['obsoleteGracePeriod', '-5m', '15m'],
    ['obsoleteGracePeriod', '16m', '15m'],
    ['obsoleteInFlightLeeway', '-1s', '30s'],
    ['obsoleteInFlightLeeway', '31s', '30s'],
  ])('R21 %s %s is out of bounds', (option, value, max) => {
    expect(problems({ [option]: value })).toEqual([
      `${option}: ${option} must be a non-negative integer of milliseconds or a string such as "90s", "30m", "12h", "1d", at most '${max}'`,
    ]);
  });

  it('R21 a chosen obsoleteInFlightLeeway longer than obsoleteGracePeriod is refused', () => {
    expect(problems({ obsoleteGracePeriod: '10s', obsoleteInFlightLeeway: '20s' })).toEqual([
      'obsoleteInFlightLeeway: must not be longer than obsoleteGracePeriod (an ID past its grace period is never served)',
    ]);
  });

  it('R21 the default leeway is capped at a shorter grace period', () => {
    const { timings } = resolveSessionOptions({ obsoleteGracePeriod: '2s' });
    expect(timings.obsoleteInFlightLeeway).toBe(2 * SECOND);
  });

  it('a negative rotationInterval, naming false as allowed', () => {
    expect(problems({ rotationInterval: -1 })).toEqual([
      'rotationInterval: rotationInterval must be a non-negative integer of milliseconds or a string such as "90s", "30m", "12h", "1d", or false',
    ]);
  });

  it('rotationInterval true', () => {
    expect(problems({ rotationInterval: true })).toEqual([
      expect.stringMatching(/^rotationInterval: rotationInterval must be .*, or false$/),
    ]);
  });

  it.each([0, '0ms', '0s'])('R8 idleTimeout %p (an idle timeout must be positive)', (value) => {
    expect(problems({ idleTimeout: value })).toEqual([
      expect.stringMatching(/^idleTimeout: idleTimeout must be a positive duration/),
    ]);
  });

  it('R9 absoluteTimeout 0', () => {
    expect(problems({ absoluteTimeout: 0 })).toEqual([
      expect.stringMatching(/^absoluteTimeout: absoluteTimeout must be a positive duration/),
    ]);
  });

  it.each([null, '30', '1.5h', 'soon', 1.5, NaN, Infinity, {}])(
    'an idleTimeout that is no duration (%p)',
    (value) => {
      expect(problems({ idleTimeout: value })).toEqual([
        expect.stringMatching(/^idleTimeout: idleTimeout must be a positive duration/),
      ]);
    },
  );

  it('R6 a "__Host-" name with a domain', () => {
    expect(problems({ cookie: { domain: 'example.com' } })).toEqual([
      'cookie.domain: a "__Host-" cookie must not have a domain; remove cookie.domain or use a "__Secure-" name',
    ]);
    expect(problems({ cookie: { name: '__Host-app', domain: 'example.com' } })).toHaveLength(1);
  });

  it('R6 R20 a "__Host-" name with secure false', () => {
    expect(problems({ cookie: { name: '__Host-sid', secure: false } })).toEqual([
      'cookie.name: a "__Host-" cookie requires cookie.secure: true',
    ]);
  });

  it('R6 a "__Host-" name with path "/app"', () => {
    expect(problems({ cookie: { path: '/app' } })).toEqual([
      'cookie.path: a "__Host-" cookie requires path "/"',
    ]);
  });

  it('R6 R20 a "__Secure-" name with secure false', () => {
    expect(problems({ cookie: { name: '__Secure-sid', secure: false } })).toEqual([
      'cookie.name: a "__Secure-" cookie requires cookie.secure: true',
    ]);
  });

  it('R6 sameSite none without secure', () => {
    expect(problems({ cookie: { secure: false, sameSite: 'none' } })).toEqual([
      'cookie.sameSite: "none" requires cookie.secure: true (browsers reject it otherwise)',
    ]);
  });

  it('R6 every "__Host-" rule broken at once is listed together', () => {
    expect(
      problems({
        cookie: {
          name: '__Host-sid',
          secure: false,
          domain: 'example.com',
          path: '/app',
          sameSite: 'none',
        },
      }),
    ).toEqual([
      'cookie.name: a "__Host-" cookie requires cookie.secure: true',
      'cookie.domain: a "__Host-" cookie must not have a domain; remove cookie.domain or use a "__Secure-" name',
      'cookie.path: a "__Host-" cookie requires path "/"',
      'cookie.sameSite: "none" requires cookie.secure: true (browsers reject it otherwise)',
    ]);
  });

  it('an unknown top-level key (a typo) names the option it is closest to', () => {
    expect(problems({ idleTimout: '30m' })).toEqual([
      'idleTimout: idleTimout is not a known option; did you mean idleTimeout?',
    ]);
  });

  it('issue 13 §2: a key in the wrong case or with swapped letters gets a suggestion', () => {
    expect(problems({ cookie: { samesite: 'lax' } })).toEqual([
      'cookie.samesite: cookie.samesite is not a known option; did you mean cookie.sameSite?',
    ]);
    expect(problems({ absoulteTimeout: '1h' })).toEqual([
      'absoulteTimeout: absoulteTimeout is not a known option; did you mean absoluteTimeout?',
    ]);
  });

  it('issue 13 §2: a cookie attribute given at the top level points into cookie', () => {
    expect(problems({ secure: false })).toEqual([
      'secure: secure is not a known option; did you mean cookie.secure?',
    ]);
  });

  it('issue 13 §2: a key far from every option gets no suggestion', () => {
    expect(problems({ store: 'redis' })).toEqual(['store: store is not a known option']);
  });

  it.each(['isGlobal', 'dataSource'])(
    'issue 13 §2: %s returned by a factory says it goes beside useFactory',
    (key) => {
      expect(problems({ [key]: key === 'isGlobal' ? true : 'sessions' })).toEqual([
        `${key}: ${key} is not an option the factory can return; give it to forRootAsync itself, ` +
          `beside useFactory (or useClass, useExisting): SessionModule.forRootAsync({ ${key}: ..., useFactory: ... })`,
      ]);
    },
  );

  it('issue 13 §2: rules between options are reported beside refused values, in one error', () => {
    const listed = problems({
      idleTimeout: 'soon',
      obsoleteGracePeriod: '10s',
      obsoleteInFlightLeeway: '20s',
      cookie: { domain: 'example.com' },
      csrf: { header: 'x csrf' },
    });
    expect(listed.map((problem) => problem.slice(0, problem.indexOf(':'))).sort()).toEqual([
      'cookie.domain',
      'csrf.header',
      'idleTimeout',
      'obsoleteInFlightLeeway',
    ]);
  });

  it('an unknown cookie key', () => {
    expect(problems({ cookie: { httpOnly: false } })).toEqual([
      'cookie.httpOnly: cookie.httpOnly is not a known option',
    ]);
    expect(problems({ cookie: { maxAge: 1000 } })).toEqual([
      'cookie.maxAge: cookie.maxAge is not a known option',
    ]);
  });

  it.each([['x'], [5], [true], [[]]])('cookie that is not an object (%p)', (cookie) => {
    expect(problems({ cookie })).toContain('cookie: cookie must be an object');
  });

  it.each(['foo', 'Lax', 'LAX', ''])('R6 sameSite %j', (sameSite) => {
    expect(problems({ cookie: { sameSite } })).toEqual([
      'cookie.sameSite: cookie.sameSite must be one of "lax", "strict", "none"',
    ]);
  });

  it.each(['', 'a b', 'a;b', 'a=b', 'sid\n', 'séance', 'a,b', '"sid"'])(
    'R6 a cookie name that is no HTTP token (%j)',
    (name) => {
      expect(problems({ cookie: { name } })).toEqual([
        "cookie.name: cookie.name must be a cookie name (letters, digits and !#$%&'*+-.^_`|~)",
      ]);
    },
  );

  it.each(['example.com; Secure', 'exa mple.com', '', '-example.com', 'example..com', 'a/b'])(
    'R6 a cookie domain that is no host name (%j)',
    (domain) => {
      expect(problems({ cookie: { name: 'sid', domain } })).toEqual([
        'cookie.domain: cookie.domain must be a host name such as "example.com"',
      ]);
    },
  );

  it.each(['app', '/a;b', '/a b', '/a\nb', ''])('R6 a cookie path %j', (path) => {
    expect(problems({ cookie: { name: 'sid', path } })).toEqual([
      'cookie.path: cookie.path must start with "/" and contain no ";", spaces or control characters',
    ]);
  });

  it('cookie.secure that is not a boolean', () => {
    expect(problems({ cookie: { secure: 'false' } })).toEqual([
      'cookie.secure: cookie.secure must be true or false',
    ]);
  });

  it.each([0, 1, 1.5, 'big', 1_048_577, -8192, NaN])('maxDataSize %p', (maxDataSize) => {
    const listed = problems({ maxDataSize });
    expect(listed.length).toBeGreaterThan(0);
    for (const problem of listed) {
      expect(problem).toBe(
        'maxDataSize: maxDataSize must be an integer number of bytes between 2 and 1048576',
      );
    }
  });

  it('defaultAccess "x"', () => {
    expect(problems({ defaultAccess: 'x' })).toEqual([
      'defaultAccess: defaultAccess must be one of "authenticated", "public"',
    ]);
  });

  it('onObsoleteAccess "x"', () => {
    expect(problems({ onObsoleteAccess: 'x' })).toEqual([
      'onObsoleteAccess: onObsoleteAccess must be one of "revoke-all", "deny"',
    ]);
  });

  it('regenerateOnWrite that is not a boolean', () => {
    expect(problems({ regenerateOnWrite: 'yes' })).toEqual([
      'regenerateOnWrite: regenerateOnWrite must be true or false',
    ]);
  });

  it('preparedStatements that is not a boolean', () => {
    expect(problems({ preparedStatements: 1 })).toEqual([
      'preparedStatements: preparedStatements must be true or false',
    ]);
    expect(resolveSessionOptions({ preparedStatements: false }).preparedStatements).toBe(false);
  });

  it('batchWrites that is not a boolean', () => {
    expect(problems({ batchWrites: 'no' })).toEqual([
      'batchWrites: batchWrites must be true or false',
    ]);
    expect(resolveSessionOptions({ batchWrites: false }).batchWrites).toBe(false);
  });

  it('listenConnection that is not a PostgreSQL connection string, without showing it', () => {
    const expected =
      'listenConnection: listenConnection must be a PostgreSQL connection string such as "postgres://user:password@db-host:5432/app"';
    expect(problems({ listenConnection: 'mysql://root:secret@db/app' })).toEqual([expected]);
    expect(problems({ listenConnection: 5432 })).toEqual([expected]);
    const url = 'postgresql://app:secret@db-direct:5432/app?sslmode=require';
    expect(resolveSessionOptions({ listenConnection: url }).listenConnection).toBe(url);
    expect(resolveSessionOptions({}).listenConnection).toBeUndefined();
  });

  it('cache options out of range or of the wrong type, each named', () => {
    expect(
      problems({ cache: { enabled: 'yes', maxEntries: 0, maxBytes: 10, maxAge: '2m' } }),
    ).toEqual([
      expect.stringMatching(/^cache\.enabled: /),
      expect.stringMatching(/^cache\.maxEntries: /),
      expect.stringMatching(/^cache\.maxBytes: /),
      expect.stringMatching(/^cache\.maxAge: .*at most '1m'/),
    ]);
    expect(problems({ cache: { maxAge: 0 } })).toEqual([
      expect.stringMatching(/^cache\.maxAge: .*positive/),
    ]);
    expect(resolveSessionOptions({ cache: { enabled: false, maxAge: '30s' } }).cache).toEqual({
      enabled: false,
      maxEntries: 10_000,
      maxBytes: 33_554_432,
      maxAge: 30 * SECOND,
    });
  });

  it('several problems are listed together in one error', () => {
    const listed = problems({
      idleTimeout: 0,
      absoluteTimeout: '-5m',
      onObsoleteAccess: 'x',
      defaultAccess: 'x',
      maxDataSize: 'big',
      unknownOption: 1,
      cookie: { sameSite: 'foo', extra: 1 },
    });
    const options = new Set(listed.map((problem) => problem.slice(0, problem.indexOf(':'))));
    expect([...options].sort()).toEqual(
      [
        'absoluteTimeout',
        'cookie.extra',
        'cookie.sameSite',
        'defaultAccess',
        'idleTimeout',
        'maxDataSize',
        'onObsoleteAccess',
        'unknownOption',
      ].sort(),
    );
  });

  it('the error is thrown once, at resolution, with a readable list', () => {
    const { message, name } = rejection({ idleTimeout: 0, defaultAccess: 'x' });
    expect(name).toBe('SessionOptionsError');
    expect(message).toBe(
      [
        'Invalid SessionModule options:',
        ' - idleTimeout: idleTimeout must be a positive duration: a non-negative integer of milliseconds or a string such as "90s", "30m", "12h", "1d"',
        ' - defaultAccess: defaultAccess must be one of "authenticated", "public"',
      ].join('\n'),
    );
  });
});

describe('resolveSessionOptions: keys named like Object.prototype members', () => {
  it.each(['hasOwnProperty', 'isPrototypeOf', 'constructor', 'toString'])(
    '%s is reported as an unknown option',
    (key) => {
      expect(() => resolveSessionOptions({ [key]: 1 } as SessionModuleOptions)).toThrow(
        `${key} is not a known option`,
      );
    },
  );

  it('a "__proto__" key from JSON is reported, not assigned', () => {
    const options = JSON.parse('{"__proto__": {"idleTimeout": -1}}');
    expect(() => resolveSessionOptions(options)).toThrow('__proto__ is not a known option');
  });

  it('cookie prefixes are matched without regard to case', () => {
    expect(() =>
      resolveSessionOptions({ cookie: { name: '__host-sid', domain: 'example.com' } }),
    ).toThrow(/cookie\.domain/);
    expect(() =>
      resolveSessionOptions({ cookie: { name: '__SECURE-sid', secure: false } }),
    ).toThrow(/__Secure-/);
  });

  it('cookie rules are reported together with other problems', () => {
    expect(() =>
      resolveSessionOptions({ idleTimeout: 0, cookie: { domain: 'example.com' } }),
    ).toThrow(/idleTimeout[\s\S]*cookie\.domain/);
  });
});

describe('resolveSessionOptions: csrf', () => {
  it('the header name is matched in lower case and origins are kept', () => {
    const { csrf } = resolveSessionOptions({
      csrf: { header: 'X-XSRF-Token', trustedOrigins: ['https://app.example.com'] },
    });
    expect(csrf).toEqual({
      enabled: true,
      header: 'x-xsrf-token',
      trustedOrigins: ['https://app.example.com'],
    });
  });

  it.each([
    [{ csrf: { header: 'bad header' } }, /csrf\.header must be an HTTP header name/],
    [
      { csrf: { trustedOrigins: ['example.com'] } },
      /csrf\.trustedOrigins must be an array of origins/,
    ],
    [{ csrf: { trustedOrigins: 'https://example.com' } }, /csrf\.trustedOrigins must be an array/],
    [{ csrf: { enabled: 'yes' } }, /csrf\.enabled must be true or false/],
    [{ csrf: { tokenCookie: 'x' } }, /csrf\.tokenCookie is not a known option/],
  ])('%j is refused', (options, message) => {
    expect(() => resolveSessionOptions(options as SessionModuleOptions)).toThrow(message);
  });
});
