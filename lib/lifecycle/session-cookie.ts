import { isPreSessionShaped } from '../core/pre-session-token';
import { isWellFormedToken, TOKEN_LENGTH } from '../core/session-token';
import { ResolvedCookieOptions } from '../options/resolve-session-options';

/** A request's Cookie header, as Node gives it. */
export type CookieHeader = string | string[] | undefined;

/** What the Cookie header says about the session cookie. */
export interface SessionCookieRead {
  /** A pair with the session cookie's name was present (well-formed or not). */
  present: boolean;
  /** Distinct well-formed tokens, in header order (at most {@link MAX_CANDIDATES}). */
  tokens: readonly string[];
  /** How many pairs carried the name (more than one: duplicate cookies, maybe cookie tossing). */
  count: number;
}

/** What the Cookie header says about the session cookie, pre-sessions apart. */
export interface SessionCookieValues extends SessionCookieRead {
  /** Distinct values shaped like pre-sessions (not yet checked against the server key). */
  preSessions: readonly string[];
}

const NO_VALUES: readonly string[] = Object.freeze([]);

/** What a header without the cookie says (most requests lack one of the two cookies read). */
const NO_COOKIE: SessionCookieValues = Object.freeze({
  present: false,
  tokens: Object.freeze([]),
  count: 0,
  preSessions: Object.freeze([]),
});

/** Duplicate session cookies (cookie tossing) are looked up together, up to this many. */
export const MAX_CANDIDATES = 3;

/**
 * Reads the session cookie from a Cookie header: session tokens, and pre-sessions (see
 * `PreSession`) apart. Pairs are split on `;` only (a comma is part of a value, never a
 * separator), the name must match exactly (case included), and a value counts only when it is
 * exactly a well-formed token or has exactly a pre-session's shape: no decoding, no quotes, no
 * trimming of anything but the spaces around a pair. Everything else is ignored, before any query.
 */
export function readSessionCookie(header: CookieHeader, name: string): SessionCookieValues {
  const read = readCookie(header, name, acceptSessionValue, MAX_CANDIDATES);
  const { present, tokens, count } = read;
  if (tokens.every(isToken)) {
    return read === NO_COOKIE ? NO_COOKIE : { present, tokens, count, preSessions: NO_VALUES };
  }
  return {
    present,
    tokens: tokens.filter(isToken),
    count,
    preSessions: tokens.filter((value) => !isToken(value)),
  };
}

/** Accepted values are tokens or pre-sessions, told apart by their length. */
function isToken(value: string): boolean {
  return value.length === TOKEN_LENGTH;
}

function acceptSessionValue(value: string): boolean {
  return isWellFormedToken(value) || isPreSessionShaped(value);
}

/**
 * Reads the values of cookie `name` that `accept` takes (distinct, in header order, at most
 * `max`), with the parsing rules of {@link readSessionCookie}.
 */
export function readCookie(
  header: CookieHeader,
  name: string,
  accept: (value: string) => boolean,
  max: number,
): SessionCookieRead {
  if (header === undefined) return NO_COOKIE;
  const text = Array.isArray(header) ? header.join(';') : header;
  // Most headers lack one of the two names asked on every request: no pair can match.
  if (!text.includes(name)) return NO_COOKIE;
  const result = { present: false, tokens: [] as string[], count: 0 };
  for (const pair of text.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || trimSpaces(pair.slice(0, eq)) !== name) continue;
    result.present = true;
    result.count++;
    const value = trimSpaces(pair.slice(eq + 1));
    if (result.tokens.length < max && accept(value) && !result.tokens.includes(value)) {
      result.tokens.push(value);
    }
  }
  return result;
}

/** Strips spaces and tabs only: CR, LF, NBSP or a BOM around a value make it malformed. */
function trimSpaces(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

function attributes(options: ResolvedCookieOptions): string {
  const parts = [`Path=${options.path}`];
  if (options.domain) parts.push(`Domain=${options.domain}`);
  parts.push('HttpOnly');
  if (options.secure) parts.push('Secure');
  parts.push(`SameSite=${options.sameSite[0].toUpperCase()}${options.sameSite.slice(1)}`);
  return parts.join('; ');
}

/**
 * The Set-Cookie value that stores `value`: a browser-session cookie (no Expires, no Max-Age)
 * unless `maxAgeSeconds` is given (remember-me).
 */
export function serializeSessionCookie(
  options: ResolvedCookieOptions,
  value: string,
  maxAgeSeconds?: number,
): string {
  const lifetime = maxAgeSeconds === undefined ? '' : `; Max-Age=${maxAgeSeconds}`;
  return `${options.name}=${value}; ${attributes(options)}${lifetime}`;
}

/** The Set-Cookie value that removes the cookie, with the same scope it was set with. */
export function serializeClearingCookie(options: ResolvedCookieOptions): string {
  return `${options.name}=; ${attributes(options)}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT`;
}
