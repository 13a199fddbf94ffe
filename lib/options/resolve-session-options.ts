import { ValidationError, validateSync } from 'class-validator';
import { parseDuration } from '../core/duration';
import { SessionOptionsError } from '../core/errors';
import { effectiveTouchInterval, SessionTimings } from '../core/session-policy';
import {
  DefaultRouteAccess,
  ObsoleteAccessResponse,
  SESSION_OPTION_DEFAULTS,
  SessionModuleOptions,
} from './session-options';
import { SessionCookieOptionsSchema, SessionOptionsSchema } from './session-options.schema';

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
  maxDataSize: number;
  defaultAccess: DefaultRouteAccess;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function flatten(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const path = `${prefix}${error.property}`;
    if (error.children?.length) return flatten(error.children, `${path}.`);
    const messages = Object.entries(error.constraints ?? {}).map(([rule, message]) =>
      rule === 'whitelistValidation' ? `${path} is not a known option` : message,
    );
    return messages.map((message) => `${path}: ${message}`);
  });
}

function schemaOf(options: Record<string, unknown>): SessionOptionsSchema {
  const schema = Object.assign(new SessionOptionsSchema(), options);
  if (isPlainObject(options.cookie)) {
    schema.cookie = Object.assign(new SessionCookieOptionsSchema(), options.cookie);
  }
  return schema;
}

function cookieRuleViolations(cookie: ResolvedCookieOptions): string[] {
  const problems: string[] = [];
  if (cookie.name.startsWith('__Host-')) {
    if (!cookie.secure)
      problems.push('cookie.name: a "__Host-" cookie requires cookie.secure: true');
    if (cookie.domain !== undefined)
      problems.push(
        'cookie.domain: a "__Host-" cookie must not have a domain; remove cookie.domain or use a "__Secure-" name',
      );
    if (cookie.path !== '/') problems.push('cookie.path: a "__Host-" cookie requires path "/"');
  }
  if (cookie.name.startsWith('__Secure-') && !cookie.secure) {
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
 * Validates the options given to the module and applies the defaults, once, at start-up.
 * Throws a {@link SessionOptionsError} listing every problem, each naming its option.
 */
export function resolveSessionOptions(
  options: SessionModuleOptions | undefined,
): ResolvedSessionOptions {
  const raw: Record<string, unknown> = isPlainObject(options) ? options : {};
  if (options !== undefined && !isPlainObject(options)) {
    throw new SessionOptionsError('Invalid SessionModule options: the options must be an object');
  }
  const problems = flatten(
    validateSync(schemaOf(raw), { whitelist: true, forbidNonWhitelisted: true }),
  );
  if (problems.length === 0) {
    const resolved = applyDefaults(raw as SessionModuleOptions);
    problems.push(...cookieRuleViolations(resolved.cookie));
    if (problems.length === 0) return resolved;
  }
  throw new SessionOptionsError(`Invalid SessionModule options:\n - ${problems.join('\n - ')}`);
}

function applyDefaults(options: SessionModuleOptions): ResolvedSessionOptions {
  const defaults = SESSION_OPTION_DEFAULTS;
  const secure = options.cookie?.secure ?? defaults.cookie.secure;
  const idleTimeout = parseDuration(options.idleTimeout ?? defaults.idleTimeout, 'idleTimeout');
  const rotation = options.rotationInterval ?? defaults.rotationInterval;
  return {
    cookie: {
      name: options.cookie?.name ?? (secure ? '__Host-sid' : 'sid'),
      secure,
      sameSite: options.cookie?.sameSite ?? defaults.cookie.sameSite,
      domain: options.cookie?.domain,
      path: options.cookie?.path ?? defaults.cookie.path,
    },
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
      obsoleteGracePeriod: parseDuration(
        options.obsoleteGracePeriod ?? defaults.obsoleteGracePeriod,
        'obsoleteGracePeriod',
      ),
      obsoleteRetention: parseDuration(
        options.obsoleteRetention ?? defaults.obsoleteRetention,
        'obsoleteRetention',
      ),
      rotationInterval: rotation === false ? 0 : parseDuration(rotation, 'rotationInterval'),
    },
    onObsoleteAccess: options.onObsoleteAccess ?? defaults.onObsoleteAccess,
    regenerateOnWrite: options.regenerateOnWrite ?? defaults.regenerateOnWrite,
    maxDataSize: options.maxDataSize ?? defaults.maxDataSize,
    defaultAccess: options.defaultAccess ?? defaults.defaultAccess,
  };
}
