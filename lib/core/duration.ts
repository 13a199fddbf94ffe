import { SessionOptionsError } from './errors';

/**
 * A length of time: a number of milliseconds, or a string such as `'500ms'`, `'90s'`, `'30m'`,
 * `'12h'` or `'30d'`.
 */
export type Duration = number | string;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION_PATTERN = /^(\d+)(ms|s|m|h|d)$/;

/** Returns the duration in milliseconds, or `undefined` when `value` is not a valid duration. */
export function tryParseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const match = DURATION_PATTERN.exec(value.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** Like {@link tryParseDuration}, but throws a {@link SessionOptionsError} naming `what`. */
export function parseDuration(value: Duration, what: string): number {
  const ms = tryParseDuration(value);
  if (ms === undefined) {
    throw new SessionOptionsError(
      `${what} must be a duration: a non-negative integer of milliseconds or a string such as '90s', '30m', '12h' (got ${JSON.stringify(value)})`,
    );
  }
  return ms;
}
