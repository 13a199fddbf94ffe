import { SampleStartupError } from '../sample-startup.error';

/** The process environment, or any record shaped like it (tests pass their own). */
export type Env = Record<string, string | undefined>;

/** The trimmed value of `name`, or `undefined` when it is unset or blank. */
export function envValue(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

// The package's own duration syntax, checked here so that a typo is reported with the name of
// the environment variable rather than the name of the module option it feeds.
const DURATION_PATTERN = /^\d+(ms|s|m|h|d)?$/;

/**
 * A duration for `SessionModule`: `'30m'`, `'2s'`, `'12h'`... or a bare number of
 * milliseconds (returned as a number, which is how the package takes milliseconds).
 */
export function envDuration(env: Env, name: string): string | number | undefined {
  const value = envValue(env, name);
  if (value === undefined) return undefined;
  if (!DURATION_PATTERN.test(value)) {
    throw new SampleStartupError(
      `${name} must be a duration such as '30m', '2s' or '12h', or a number of milliseconds (got '${value}')`,
    );
  }
  return /^\d+$/.test(value) ? Number(value) : value;
}

export function envBoolean(env: Env, name: string, fallback: boolean): boolean {
  const value = envValue(env, name)?.toLowerCase();
  if (value === undefined) return fallback;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new SampleStartupError(`${name} must be 'true' or 'false' (got '${value}')`);
}

export function envPort(env: Env, name: string, fallback: number): number {
  const value = envValue(env, name);
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    throw new SampleStartupError(`${name} must be a TCP port number, 0 to 65535 (got '${value}')`);
  }
  return port;
}

export function envChoice<T extends string>(
  env: Env,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const value = envValue(env, name);
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new SampleStartupError(
      `${name} must be one of ${choices.map((c) => `'${c}'`).join(', ')} (got '${value}')`,
    );
  }
  return value as T;
}

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration (see {@link envDuration}) in milliseconds, for settings of the sample itself. */
export function envMilliseconds(env: Env, name: string, fallback: number): number {
  const value = envDuration(env, name);
  if (value === undefined) return fallback;
  if (typeof value === 'number') return value;
  const [, amount, unit] = /^(\d+)(ms|s|m|h|d)$/.exec(value)!;
  return Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
}

/** A whole number of at least 0, such as a limit where `0` turns the limit off. */
export function envCount(env: Env, name: string, fallback: number): number {
  const value = envValue(env, name);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new SampleStartupError(`${name} must be a whole number, 0 or more (got '${value}')`);
  }
  return Number(value);
}
