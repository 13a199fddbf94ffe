import { defaultsOf, OptionTableFor, ResolvedValues } from './option-rule';
import { duration, flag, integer, list, nested, oneOf, text } from './option-kinds';
import {
  DEFAULT_ROUTE_ACCESS,
  OBSOLETE_ACCESS_RESPONSES,
  SAME_SITE_VALUES,
  SESSION_LIMIT_POLICIES,
  SessionCacheOptions,
  SessionCookieOptions,
  SessionCsrfOptions,
  SessionIdGuessingOptions,
  SessionModuleOptions,
  SessionRememberMeOptions,
} from './session-options';

/*
 * Every option of `SessionModule`, once: its default, its rule (validated with class-validator)
 * and how it resolves. The key lists, `SESSION_OPTION_DEFAULTS`, the validation classes and the
 * resolved values derive from it; `satisfies` keeps it in step with the public interfaces,
 * whose JSDoc documents each option. The order of the rows is the order of the problems listed
 * in a `SessionOptionsError`.
 */

/** RFC 6265 cookie-name characters (an HTTP token); header names are tokens too. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const COOKIE_NAME = {
  pattern: TOKEN,
  must: "be a cookie name (letters, digits and !#$%&'*+-.^_`|~)",
};
const COOKIE_DOMAIN =
  /^\.?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const COOKIE_PATH = /^\/[\x21-\x3a\x3c-\x7e]*$/;
const ORIGIN = /^https?:\/\/[^/\s]+$/;
/** A `postgres://` or `postgresql://` URL (libpq's connection URI), without white space. */
const POSTGRES_URL = /^postgres(?:ql)?:\/\/\S+$/;

/**
 * The longest grace period: long enough for a mobile client on a slow network, short enough
 * that an old ID is not a long-lived credential (the PHP manual's example uses 300 s).
 */
export const MAX_OBSOLETE_GRACE_PERIOD = '15m';
/** The longest leeway for requests already in flight when a successor came into use. */
export const MAX_OBSOLETE_IN_FLIGHT_LEEWAY = '30s';

const COOKIE_OPTIONS = {
  // No default: `__Host-sid`, or `sid` without `secure` (see resolve-session-options.ts).
  name: text(COOKIE_NAME),
  secure: flag({ default: true }),
  sameSite: oneOf(SAME_SITE_VALUES, { default: 'lax' }),
  domain: text({ pattern: COOKIE_DOMAIN, must: 'be a host name such as "example.com"' }),
  path: text({
    pattern: COOKIE_PATH,
    must: 'start with "/" and contain no ";", spaces or control characters',
    default: '/',
  }),
} satisfies OptionTableFor<SessionCookieOptions>;

const CSRF_OPTIONS = {
  enabled: flag({ default: true }),
  header: text({
    pattern: TOKEN,
    must: 'be an HTTP header name such as "x-csrf-token"',
    default: 'x-csrf-token',
    lowerCase: true,
  }),
  trustedOrigins: list({
    pattern: ORIGIN,
    must: 'be an array of origins such as "https://app.example.com"',
  }),
} satisfies OptionTableFor<SessionCsrfOptions>;

const REMEMBER_ME_OPTIONS = {
  // No default: `__Host-remember`, or `remember` without `cookie.secure`.
  cookieName: text(COOKIE_NAME),
  lifetime: duration({ default: '30d', positive: true }),
} satisfies OptionTableFor<SessionRememberMeOptions>;

const ID_GUESSING_OPTIONS = {
  threshold: integer({ default: 20 }),
  window: duration({ default: '1m', positive: true }),
  block: flag({ default: false }),
} satisfies OptionTableFor<SessionIdGuessingOptions>;

const CACHE_OPTIONS = {
  enabled: flag({ default: true }),
  maxEntries: integer({ default: 10_000, between: [1, 10_000_000] }),
  maxBytes: integer({ default: 33_554_432, between: [1_024, 4_294_967_296], unit: 'bytes' }),
  maxAge: duration({ default: '5s', positive: true, max: '1m' }),
} satisfies OptionTableFor<SessionCacheOptions>;

export const SESSION_OPTION_TABLE = {
  cookie: nested(COOKIE_OPTIONS),
  idleTimeout: duration({ default: '30m', positive: true }),
  absoluteTimeout: duration({ default: '12h', positive: true }),
  // Capped at a tenth of idleTimeout when resolved.
  touchInterval: duration({ default: '60s' }),
  obsoleteGracePeriod: duration({ default: '60s', max: MAX_OBSOLETE_GRACE_PERIOD }),
  // At most obsoleteGracePeriod: refused when chosen longer, capped when the default is.
  obsoleteInFlightLeeway: duration({ default: '5s', max: MAX_OBSOLETE_IN_FLIGHT_LEEWAY }),
  obsoleteRetention: duration({ default: '1d' }),
  onObsoleteAccess: oneOf(OBSOLETE_ACCESS_RESPONSES, { default: 'revoke-all' }),
  rotationInterval: duration({ default: '15m', off: true }),
  regenerateOnWrite: flag({ default: false }),
  preparedStatements: flag({ default: true }),
  batchWrites: flag({ default: true }),
  // No default: the data source's own connection settings.
  listenConnection: text({
    pattern: POSTGRES_URL,
    must: 'be a PostgreSQL connection string such as "postgres://user:password@db-host:5432/app"',
  }),
  maxDataSize: integer({ default: 8192, between: [2, 1_048_576], unit: 'bytes' }),
  idGuessing: nested(ID_GUESSING_OPTIONS),
  rememberMe: nested(REMEMBER_ME_OPTIONS),
  csrf: nested(CSRF_OPTIONS),
  cache: nested(CACHE_OPTIONS),
  // No default: no limit (resolves to null).
  maxSessionsPerUser: integer({}),
  sessionLimitPolicy: oneOf(SESSION_LIMIT_POLICIES, { default: 'evict-least-recently-used' }),
  gcInterval: duration({ default: '10m', off: true }),
  gcBatchSize: integer({ default: 1000, between: [1, 100_000] }),
  guardCheck: flag({ default: true }),
  defaultAccess: oneOf(DEFAULT_ROUTE_ACCESS, { default: 'authenticated' }),
} satisfies OptionTableFor<SessionModuleOptions>;

/** Every option's value after validation and defaults, before the options are combined. */
export type ResolvedOptionValues = ResolvedValues<typeof SESSION_OPTION_TABLE>;

/** The default of every option that has one, as written in `forRoot()` options. */
export const SESSION_OPTION_DEFAULTS = defaultsOf(SESSION_OPTION_TABLE);
