import { ValidationError, validateSync } from 'class-validator';
import { parseDuration } from '../core/duration';
import { SessionOptionsError } from '../core/errors';
import { effectiveTouchInterval, SessionTimings } from '../core/session-policy';
import { closestName } from './closest-name';
import {
  DefaultRouteAccess,
  ObsoleteAccessResponse,
  SessionLimitPolicy,
  SESSION_OPTION_DEFAULTS,
  SessionCookieOptions,
  SessionCsrfOptions,
  SessionIdGuessingOptions,
  SessionModuleExtras,
  SessionModuleOptions,
  SessionRememberMeOptions,
} from './session-options';
import {
  SessionCookieOptionsSchema,
  SessionCsrfOptionsSchema,
  SessionIdGuessingOptionsSchema,
  SessionOptionsSchema,
  SessionRememberMeOptionsSchema,
} from './session-options.schema';

/** Cookie attributes after defaults. */
export interface ResolvedCookieOptions {
  name: string;
  secure: boolean;
  sameSite: 'lax' | 'strict' | 'none';
  domain?: string;
  path: string;
}

/** The module's options after validation and defaults: what the rest of the package reads. */
export interface ResolvedSessionOptions {
  cookie: ResolvedCookieOptions;
  timings: SessionTimings;
  onObsoleteAccess: ObsoleteAccessResponse;
  regenerateOnWrite: boolean;
  preparedStatements: boolean;
  /** Warn at start-up when no SessionGuard is registered. */
  guardCheck: boolean;
  maxDataSize: number;
  defaultAccess: DefaultRouteAccess;
  csrf: { enabled: boolean; header: string; trustedOrigins: string[] };
  /** The remember-me cookie (session cookie attributes, own name) and lifetime in ms. */
  rememberMe: { cookie: ResolvedCookieOptions; lifetime: number };
  idGuessing: { threshold: number; window: number; block: boolean };
  /** `null` when there is no limit. */
  maxSessionsPerUser: number | null;
  sessionLimitPolicy: SessionLimitPolicy;
  /** Garbage collection: interval in milliseconds (0 = no timer) and batch size. */
  gc: { interval: number; batchSize: number };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function flatten(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const path = `${prefix}${error.property}`;
    if (error.children?.length) return flatten(error.children, `${path}.`);
    const messages = [...new Set(Object.values(error.constraints ?? {}))];
    return messages.map((message) => `${path}: ${message}`);
  });
}

/**
 * The path of every value the validation refused (`cookie` when it is no object,
 * `cookie.sameSite`, ...); an object is not refused for what one of its keys holds.
 */
function invalidPaths(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const path = `${prefix}${error.property}`;
    const own = Object.keys(error.constraints ?? {}).length > 0 ? [path] : [];
    return [...own, ...invalidPaths(error.children ?? [], `${path}.`)];
  });
}

/** Every option name, so unknown keys are found by own-key lookup (never through the prototype). */
const OPTION_KEYS = {
  cookie: true,
  idleTimeout: true,
  absoluteTimeout: true,
  touchInterval: true,
  obsoleteGracePeriod: true,
  obsoleteInFlightLeeway: true,
  obsoleteRetention: true,
  onObsoleteAccess: true,
  rotationInterval: true,
  regenerateOnWrite: true,
  preparedStatements: true,
  maxDataSize: true,
  defaultAccess: true,
  csrf: true,
  rememberMe: true,
  idGuessing: true,
  maxSessionsPerUser: true,
  sessionLimitPolicy: true,
  gcInterval: true,
  gcBatchSize: true,
  guardCheck: true,
} satisfies Record<keyof SessionModuleOptions, true>;

const COOKIE_KEYS = {
  name: true,
  secure: true,
  sameSite: true,
  domain: true,
  path: true,
} satisfies Record<keyof SessionCookieOptions, true>;

const CSRF_KEYS = {
  enabled: true,
  header: true,
  trustedOrigins: true,
} satisfies Record<keyof SessionCsrfOptions, true>;

const REMEMBER_ME_KEYS = {
  cookieName: true,
  lifetime: true,
} satisfies Record<keyof SessionRememberMeOptions, true>;

const ID_GUESSING_KEYS = {
  threshold: true,
  window: true,
  block: true,
} satisfies Record<keyof SessionIdGuessingOptions, true>;

/** The nested objects and their keys, for a top-level key that belongs inside one. */
const NESTED_KEYS = {
  cookie: COOKIE_KEYS,
  csrf: CSRF_KEYS,
  rememberMe: REMEMBER_ME_KEYS,
  idGuessing: ID_GUESSING_KEYS,
};

/**
 * The options given to `forRootAsync` itself: they decide how the module is registered, before
 * any factory runs, so a factory (or `useClass`/`useExisting` class) cannot return them.
 */
const EXTRA_KEYS = { isGlobal: true, dataSource: true } satisfies Record<
  keyof SessionModuleExtras,
  true
>;

function misplacedExtra(key: string): string {
  return (
    `${key}: ${key} is not an option the factory can return; give it to forRootAsync itself, ` +
    `beside useFactory (or useClass, useExisting): SessionModule.forRootAsync({ ${key}: ..., useFactory: ... })`
  );
}

/** `did you mean ...?` for a mistyped key: a close key at the same level, or one nested below. */
function suggestionFor(key: string, known: object, prefix: string): string {
  const sibling = closestName(key, Object.keys(known));
  if (sibling !== undefined) return `; did you mean ${prefix}${sibling}?`;
  if (prefix !== '') return '';
  const nested = Object.entries(NESTED_KEYS).flatMap(([parent, keys]) =>
    Object.keys(keys).map((child) => `${parent}.${child}`),
  );
  const leaf = closestName(
    key,
    nested.map((path) => path.slice(path.indexOf('.') + 1)),
  );
  const home = nested.find((path) => path.endsWith(`.${leaf}`));
  return home === undefined ? '' : `; did you mean ${home}?`;
}

function unknownKeys(value: Record<string, unknown>, known: object, prefix: string): string[] {
  return Object.keys(value)
    .filter((key) => !Object.hasOwn(known, key))
    .map((key) =>
      prefix === '' && Object.hasOwn(EXTRA_KEYS, key)
        ? misplacedExtra(key)
        : `${prefix}${key}: ${prefix}${key} is not a known option${suggestionFor(key, known, prefix)}`,
    );
}

/**
 * The known options without those the validation refused, so that the rules between options
 * can run on the rest. Built with `Object.fromEntries`, which defines own properties: a
 * `__proto__` key never reaches a prototype.
 */
function withoutInvalid(
  options: Record<string, unknown>,
  invalid: Set<string>,
): SessionModuleOptions {
  const keep = (path: string, key: string, known: object) =>
    Object.hasOwn(known, key) && !invalid.has(path);
  return Object.fromEntries(
    Object.entries(options)
      .filter(([key]) => keep(key, key, OPTION_KEYS))
      .map(([key, value]) => {
        const nested: object | undefined = (NESTED_KEYS as Record<string, object>)[key];
        if (!nested || !isPlainObject(value)) return [key, value];
        const children = Object.entries(value).filter(([child]) =>
          keep(`${key}.${child}`, child, nested),
        );
        return [key, Object.fromEntries(children)];
      }),
  ) as SessionModuleOptions;
}

/** Own, known keys only: unknown ones are reported, never assigned (no prototype keys). */
function knownPart(value: Record<string, unknown>, known: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([key]) => Object.hasOwn(known, key)));
}

function schemaOf(options: Record<string, unknown>): SessionOptionsSchema {
  const schema = Object.assign(new SessionOptionsSchema(), knownPart(options, OPTION_KEYS));
  if (isPlainObject(options.cookie)) {
    schema.cookie = Object.assign(
      new SessionCookieOptionsSchema(),
      knownPart(options.cookie, COOKIE_KEYS),
    );
  }
  if (isPlainObject(options.rememberMe)) {
    schema.rememberMe = Object.assign(
      new SessionRememberMeOptionsSchema(),
      knownPart(options.rememberMe, REMEMBER_ME_KEYS),
    );
  }
  if (isPlainObject(options.idGuessing)) {
    schema.idGuessing = Object.assign(
      new SessionIdGuessingOptionsSchema(),
      knownPart(options.idGuessing, ID_GUESSING_KEYS),
    );
  }
  if (isPlainObject(options.csrf)) {
    schema.csrf = Object.assign(new SessionCsrfOptionsSchema(), knownPart(options.csrf, CSRF_KEYS));
  }
  return schema;
}

/** Rules between cookie attributes (prefixes are matched without regard to case, as browsers do). */
function cookieRuleViolations(cookie: ResolvedCookieOptions): string[] {
  const problems: string[] = [];
  const name = cookie.name.toLowerCase();
  if (name.startsWith('__host-')) {
    if (!cookie.secure)
      problems.push('cookie.name: a "__Host-" cookie requires cookie.secure: true');
    if (cookie.domain !== undefined)
      problems.push(
        'cookie.domain: a "__Host-" cookie must not have a domain; remove cookie.domain or use a "__Secure-" name',
      );
    if (cookie.path !== '/') problems.push('cookie.path: a "__Host-" cookie requires path "/"');
  }
  if (name.startsWith('__secure-') && !cookie.secure) {
    problems.push('cookie.name: a "__Secure-" cookie requires cookie.secure: true');
  }
  if (cookie.sameSite === 'none' && !cookie.secure) {
    problems.push(
      'cookie.sameSite: "none" requires cookie.secure: true (browsers reject it otherwise)',
    );
  }
  return problems;
}

/**
 * Rules between durations, once each is known to be valid. The default leeway is capped at a
 * shorter grace period silently; a leeway the application chose must fit in it.
 */
function timingRuleViolations(options: SessionModuleOptions): string[] {
  if (options.obsoleteInFlightLeeway === undefined) return [];
  const grace = options.obsoleteGracePeriod ?? SESSION_OPTION_DEFAULTS.obsoleteGracePeriod;
  const leeway = parseDuration(options.obsoleteInFlightLeeway, 'obsoleteInFlightLeeway');
  if (leeway <= parseDuration(grace, 'obsoleteGracePeriod')) return [];
  return [
    'obsoleteInFlightLeeway: must not be longer than obsoleteGracePeriod (an ID past its grace period is never served)',
  ];
}

/**
 * Validates the options given to the module and applies the defaults, once, at start-up.
 * Throws a {@link SessionOptionsError} listing every problem, each naming its option.
 */
export function resolveSessionOptions(
  options: SessionModuleOptions | undefined,
): ResolvedSessionOptions {
  if (options !== undefined && !isPlainObject(options)) {
    throw new SessionOptionsError('Invalid SessionModule options: the options must be an object');
  }
  const raw: Record<string, unknown> = options ?? {};
  const cookie = isPlainObject(raw.cookie) ? raw.cookie : undefined;
  const csrf = isPlainObject(raw.csrf) ? raw.csrf : undefined;
  const rememberMe = isPlainObject(raw.rememberMe) ? raw.rememberMe : undefined;
  const idGuessing = isPlainObject(raw.idGuessing) ? raw.idGuessing : undefined;
  const problems = [
    ...unknownKeys(raw, OPTION_KEYS, ''),
    ...(cookie ? unknownKeys(cookie, COOKIE_KEYS, 'cookie.') : []),
    ...(csrf ? unknownKeys(csrf, CSRF_KEYS, 'csrf.') : []),
    ...(rememberMe ? unknownKeys(rememberMe, REMEMBER_ME_KEYS, 'rememberMe.') : []),
    ...(idGuessing ? unknownKeys(idGuessing, ID_GUESSING_KEYS, 'idGuessing.') : []),
  ];
  const errors = validateSync(schemaOf(raw), { forbidUnknownValues: false });
  problems.push(...flatten(errors));
  // The rules between options run beside the refused values, so that one start reports every
  // problem: on the valid values (a refused one counts as left out), and the cookie rules only
  // when no cookie attribute was refused (they depend on each other: the name on `secure`...).
  const invalid = [...new Set(invalidPaths(errors))];
  const valid = withoutInvalid(raw, new Set(invalid));
  if (!invalid.some((path) => /^(cookie|rememberMe)\b/.test(path))) {
    const cookie = resolveCookie(valid);
    problems.push(...cookieRuleViolations(cookie));
    const remember = rememberMeCookie(valid, cookie);
    problems.push(
      ...cookieRuleViolations(remember)
        .filter((problem) => problem.startsWith('cookie.name'))
        .map((problem) => problem.replace('cookie.name', 'rememberMe.cookieName')),
    );
  }
  problems.push(...timingRuleViolations(valid));
  if (problems.length > 0) {
    throw new SessionOptionsError(`Invalid SessionModule options:\n - ${problems.join('\n - ')}`);
  }
  return applyDefaults(raw as SessionModuleOptions);
}

function rememberMeCookie(
  options: SessionModuleOptions,
  session: ResolvedCookieOptions,
): ResolvedCookieOptions {
  const name = options.rememberMe?.cookieName ?? (session.secure ? '__Host-remember' : 'remember');
  return { ...session, name };
}

function resolveCookie(options: SessionModuleOptions): ResolvedCookieOptions {
  const defaults = SESSION_OPTION_DEFAULTS.cookie;
  const secure = options.cookie?.secure ?? defaults.secure;
  return {
    name: options.cookie?.name ?? (secure ? '__Host-sid' : 'sid'),
    secure,
    sameSite: options.cookie?.sameSite ?? defaults.sameSite,
    domain: options.cookie?.domain,
    path: options.cookie?.path ?? defaults.path,
  };
}

function applyDefaults(options: SessionModuleOptions): ResolvedSessionOptions {
  const defaults = SESSION_OPTION_DEFAULTS;
  const idleTimeout = parseDuration(options.idleTimeout ?? defaults.idleTimeout, 'idleTimeout');
  const rotation = options.rotationInterval ?? defaults.rotationInterval;
  const gcInterval = options.gcInterval ?? defaults.gcInterval;
  const obsoleteGracePeriod = parseDuration(
    options.obsoleteGracePeriod ?? defaults.obsoleteGracePeriod,
    'obsoleteGracePeriod',
  );
  return {
    cookie: resolveCookie(options),
    timings: {
      idleTimeout,
      absoluteTimeout: parseDuration(
        options.absoluteTimeout ?? defaults.absoluteTimeout,
        'absoluteTimeout',
      ),
      touchInterval: effectiveTouchInterval(
        parseDuration(options.touchInterval ?? defaults.touchInterval, 'touchInterval'),
        idleTimeout,
      ),
      obsoleteGracePeriod,
      obsoleteInFlightLeeway: Math.min(
        parseDuration(
          options.obsoleteInFlightLeeway ?? defaults.obsoleteInFlightLeeway,
          'obsoleteInFlightLeeway',
        ),
        obsoleteGracePeriod,
      ),
      obsoleteRetention: parseDuration(
        options.obsoleteRetention ?? defaults.obsoleteRetention,
        'obsoleteRetention',
      ),
      rotationInterval: rotation === false ? 0 : parseDuration(rotation, 'rotationInterval'),
    },
    onObsoleteAccess: options.onObsoleteAccess ?? defaults.onObsoleteAccess,
    regenerateOnWrite: options.regenerateOnWrite ?? defaults.regenerateOnWrite,
    preparedStatements: options.preparedStatements ?? defaults.preparedStatements,
    guardCheck: options.guardCheck ?? defaults.guardCheck,
    maxDataSize: options.maxDataSize ?? defaults.maxDataSize,
    defaultAccess: options.defaultAccess ?? defaults.defaultAccess,
    csrf: {
      enabled: options.csrf?.enabled ?? defaults.csrf.enabled,
      header: (options.csrf?.header ?? defaults.csrf.header).toLowerCase(),
      trustedOrigins: [...(options.csrf?.trustedOrigins ?? defaults.csrf.trustedOrigins)],
    },
    rememberMe: {
      cookie: rememberMeCookie(options, resolveCookie(options)),
      lifetime: parseDuration(
        options.rememberMe?.lifetime ?? defaults.rememberMe.lifetime,
        'rememberMe.lifetime',
      ),
    },
    idGuessing: {
      threshold: options.idGuessing?.threshold ?? defaults.idGuessing.threshold,
      window: parseDuration(
        options.idGuessing?.window ?? defaults.idGuessing.window,
        'idGuessing.window',
      ),
      block: options.idGuessing?.block ?? defaults.idGuessing.block,
    },
    maxSessionsPerUser: options.maxSessionsPerUser ?? null,
    sessionLimitPolicy: options.sessionLimitPolicy ?? defaults.sessionLimitPolicy,
    gc: {
      interval: gcInterval === false ? 0 : parseDuration(gcInterval, 'gcInterval'),
      batchSize: options.gcBatchSize ?? defaults.gcBatchSize,
    },
  };
}
