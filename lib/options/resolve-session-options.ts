import { SessionOptionsError } from '../core/errors';
import { effectiveTouchInterval, SessionTimings } from '../core/session-policy';
import { isPlainObject, resolveTable } from './option-rule';
import { optionSchema, validateOptions } from './option-validation';
import { SessionModuleOptions } from './session-options';
import { ResolvedOptionValues, SESSION_OPTION_TABLE } from './session-options.table';
import { unknownOptions } from './unknown-options';

/** Cookie attributes after defaults. */
export interface ResolvedCookieOptions extends Omit<
  ResolvedOptionValues['cookie'],
  'name' | 'domain'
> {
  name: string;
  domain?: string;
}

/**
 * The module's options after validation and defaults: what the rest of the package reads.
 * Every option of the table appears under its own name with its resolved value, except those
 * combined here: the cookies, the durations of the session's life (`timings`) and the garbage
 * collection (`gc`).
 */
export interface ResolvedSessionOptions extends Omit<
  ResolvedOptionValues,
  'cookie' | 'rememberMe' | keyof SessionTimings | 'gcInterval' | 'gcBatchSize'
> {
  cookie: ResolvedCookieOptions;
  timings: SessionTimings;
  /** The remember-me cookie (session cookie attributes, own name) and lifetime in ms. */
  rememberMe: { cookie: ResolvedCookieOptions; lifetime: number };
  /** Garbage collection: interval in milliseconds (0 = no timer) and batch size. */
  gc: { interval: number; batchSize: number };
}

const SESSION_OPTIONS_SCHEMA = optionSchema(SESSION_OPTION_TABLE);

function sessionCookie({ cookie }: ResolvedOptionValues): ResolvedCookieOptions {
  return { ...cookie, name: cookie.name ?? (cookie.secure ? '__Host-sid' : 'sid') };
}

function rememberMeCookie(values: ResolvedOptionValues): ResolvedCookieOptions {
  const session = sessionCookie(values);
  const name = values.rememberMe.cookieName ?? (session.secure ? '__Host-remember' : 'remember');
  return { ...session, name };
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
 * Rules between options, on the values that passed validation (a refused one counts as left
 * out), so that one start reports every problem. The cookie rules run only when no cookie
 * attribute was refused: they depend on each other (the name on `secure`...).
 */
function relationViolations(
  valid: Record<string, unknown>,
  invalid: ReadonlySet<string>,
  values: ResolvedOptionValues,
): string[] {
  const problems: string[] = [];
  if (![...invalid].some((path) => /^(cookie|rememberMe)\b/.test(path))) {
    problems.push(...cookieRuleViolations(sessionCookie(values)));
    problems.push(
      ...cookieRuleViolations(rememberMeCookie(values))
        .filter((problem) => problem.startsWith('cookie.name'))
        .map((problem) => problem.replace('cookie.name', 'rememberMe.cookieName')),
    );
  }
  // The default leeway is capped at a shorter grace period silently; a chosen one must fit.
  if (
    valid.obsoleteInFlightLeeway !== undefined &&
    values.obsoleteInFlightLeeway > values.obsoleteGracePeriod
  ) {
    problems.push(
      'obsoleteInFlightLeeway: must not be longer than obsoleteGracePeriod (an ID past its grace period is never served)',
    );
  }
  return problems;
}

/** Combines the options that the package reads together. */
function combine(values: ResolvedOptionValues): ResolvedSessionOptions {
  // Taken out of the rest, which the resolved options carry as they are; the cookies are
  // combined from `values` below.
  const {
    cookie: _cookie,
    rememberMe,
    idleTimeout,
    absoluteTimeout,
    touchInterval,
    obsoleteGracePeriod,
    obsoleteInFlightLeeway,
    obsoleteRetention,
    rotationInterval,
    gcInterval,
    gcBatchSize,
    ...asResolved
  } = values;
  return {
    ...asResolved,
    cookie: sessionCookie(values),
    timings: {
      idleTimeout,
      absoluteTimeout,
      touchInterval: effectiveTouchInterval(touchInterval, idleTimeout),
      obsoleteGracePeriod,
      obsoleteInFlightLeeway: Math.min(obsoleteInFlightLeeway, obsoleteGracePeriod),
      obsoleteRetention,
      rotationInterval,
    },
    rememberMe: { cookie: rememberMeCookie(values), lifetime: rememberMe.lifetime },
    gc: { interval: gcInterval, batchSize: gcBatchSize },
  };
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
  const given: Record<string, unknown> = options ?? {};
  const validation = validateOptions(given, SESSION_OPTION_TABLE, SESSION_OPTIONS_SCHEMA);
  const values = resolveTable(SESSION_OPTION_TABLE, validation.valid);
  const problems = [
    ...unknownOptions(given, SESSION_OPTION_TABLE),
    ...validation.problems,
    ...relationViolations(validation.valid, validation.invalid, values),
  ];
  if (problems.length > 0) {
    throw new SessionOptionsError(`Invalid SessionModule options:\n - ${problems.join('\n - ')}`);
  }
  return combine(values);
}
