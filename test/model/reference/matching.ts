import { Body, Outcome, SessionEntry } from './exchange';
import { Data, isReal, Json } from './store';

/** A response as the driver saw it. */
export interface ObservedResponse {
  status: number;
  /** `code` of an error body (`not_found` for Nest's plain 404). */
  code: string | null;
  /** The parsed JSON body, `null` without one. */
  body: unknown;
  /** The session cookie: untouched, cleared, or set to this value. */
  cookie: null | 'clear' | string;
  /** The remember-me cookie: untouched, cleared, or set to this value. */
  remember: null | 'clear' | string;
}

/** JSON with sorted keys: the same data written in any key order gives the same text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_, item: unknown) =>
    item && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : 1)))
      : item,
  );
}

/**
 * The model's made-up names bound to the values responses showed: a name stands for exactly
 * one value, and a value the store already knew cannot be a new one.
 */
export class Names {
  readonly bound = new Map<string, string>();
  private readonly taken = new Set<string>();

  /** @param known the real identifiers known already (shared, not copied: it is asked often). */
  constructor(private readonly known: ReadonlySet<string>) {}

  /** Whether `name` (a made-up or real identifier) can be the value `seen`; binds it if so. */
  bind(name: string, seen: string): boolean {
    if (isReal(name)) return name === seen;
    const bound = this.bound.get(name);
    if (bound !== undefined) return bound === seen;
    if (this.known.has(seen) || this.taken.has(seen)) return false;
    this.bound.set(name, seen);
    this.taken.add(seen);
    return true;
  }
}

const time = (value: unknown): number | null =>
  value === null || value === undefined ? null : new Date(value as string).getTime();

/**
 * Why `seen` is not the response `expected` describes, or `null` when it is (binding the
 * model's new names to the values seen on the way).
 */
export function mismatch(expected: Outcome, seen: ObservedResponse, names: Names): string | null {
  if (seen.status !== expected.status) return `status ${seen.status}, expected ${expected.status}`;
  if (expected.status >= 400 && seen.code !== expected.code) {
    return `code ${seen.code}, expected ${expected.code}`;
  }
  const cookie = cookieMismatch('session cookie', expected.cookie, seen.cookie, names, false);
  if (cookie) return cookie;
  const remember = cookieMismatch(
    'remember-me cookie',
    expected.remember,
    seen.remember,
    names,
    true,
  );
  if (remember) return remember;
  return expected.body ? bodyMismatch(expected.body, seen.body, names) : null;
}

function describeCookie(value: null | 'clear' | string): string {
  return value === null ? 'none' : value === 'clear' ? 'cleared' : `set to ${value}`;
}

function cookieMismatch(
  what: string,
  expected: null | 'clear' | string,
  seen: null | 'clear' | string,
  names: Names,
  remember: boolean,
): string | null {
  const wrong = `${what} ${describeCookie(seen)}, expected ${describeCookie(expected)}`;
  if (expected === null || expected === 'clear' || seen === null || seen === 'clear') {
    return expected === seen ? null : wrong;
  }
  if (!remember) return names.bind(expected, seen) ? null : wrong;
  const [selector, validator] = expected.split('.');
  const [seenSelector, seenValidator] = seen.split('.');
  return names.bind(selector, seenSelector) && names.bind(validator, seenValidator) ? null : wrong;
}

function bodyMismatch(expected: Body, seen: unknown, names: Names): string | null {
  const body = (seen ?? {}) as Record<string, unknown>;
  const say = (what: string, got: unknown, want: unknown) =>
    `${what} ${canonicalJson(got)}, expected ${canonicalJson(want)}`;
  switch (expected.kind) {
    case 'none':
      return null;
    case 'view': {
      if (body.userId !== expected.userId) return say('userId', body.userId, expected.userId);
      const handle = body.handle as string | null;
      const handleMatches =
        expected.handle === null || handle === null
          ? expected.handle === handle
          : names.bind(expected.handle, handle);
      if (!handleMatches) return say('handle', handle, expected.handle);
      return sameData(body.data, expected.data) ? null : say('data', body.data, expected.data);
    }
    case 'list':
      return sameData(body.list, expected.list) ? null : say('list', body.list, expected.list);
    case 'ended':
      return body.ended === expected.ended ? null : say('ended', body.ended, expected.ended);
    case 'sessions':
      return sessionsMismatch(expected.entries, seen, names);
  }
}

function sameData(seen: unknown, expected: Data | Json[]): boolean {
  return canonicalJson(seen) === canonicalJson(expected);
}

/** The device list: the same entries in any order (equal `lastSeenAt` has no order). */
function sessionsMismatch(expected: SessionEntry[], seen: unknown, names: Names): string | null {
  if (!Array.isArray(seen)) return `device list ${canonicalJson(seen)}, expected an array`;
  const entries = seen.map((entry: Record<string, unknown>) => ({
    handle: entry.handle as string,
    current: entry.current as boolean,
    createdAt: time(entry.createdAt),
    authenticatedAt: time(entry.authenticatedAt),
    lastSeenAt: time(entry.lastSeenAt),
  }));
  const wrong = `device list ${canonicalJson(entries)}, expected ${canonicalJson(expected)}`;
  if (entries.length !== expected.length) return wrong;
  const same = (a: SessionEntry, b: (typeof entries)[number]) =>
    a.current === b.current &&
    a.createdAt === b.createdAt &&
    a.authenticatedAt === b.authenticatedAt &&
    a.lastSeenAt === b.lastSeenAt;
  const left = [...entries];
  // Entries whose handle the model knows first, then the others by their other fields.
  const ordered = [...expected].sort((a, b) => Number(isReal(b.handle)) - Number(isReal(a.handle)));
  for (const entry of ordered) {
    const index = left.findIndex(
      (candidate) =>
        same(entry, candidate) && (isReal(entry.handle) ? candidate.handle === entry.handle : true),
    );
    if (index < 0 || !names.bind(entry.handle, left[index].handle)) return wrong;
    left.splice(index, 1);
  }
  return null;
}
