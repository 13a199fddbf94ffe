import { registerAs } from '@nestjs/config';
import { SampleStartupError } from '../sample-startup.error';
import { Env, envCount, envMilliseconds } from './env-values';

/** How many failed sign-ins the sample tolerates, from the environment. */
export interface SignInThrottleOptions {
  /**
   * Failed sign-ins for one username within `windowMs` after which that username is refused
   * (429) for `windowMs`, whatever the password; `0` turns this limit off. Default 5.
   */
  failuresPerAccount: number;
  /**
   * Failed sign-ins from one client address (an IPv6 address counts by its /64) within
   * `windowMs` after which that address is refused for `windowMs`; `0` turns it off. Default 20.
   */
  failuresPerAddress: number;
  /** How long a failure counts, and how long a refusal lasts. Default 15 minutes. */
  windowMs: number;
}

export function signInThrottleFromEnv(env: Env): SignInThrottleOptions {
  const options = {
    failuresPerAccount: envCount(env, 'SIGN_IN_FAILURES_PER_ACCOUNT', 5),
    failuresPerAddress: envCount(env, 'SIGN_IN_FAILURES_PER_ADDRESS', 20),
    windowMs: envMilliseconds(env, 'SIGN_IN_FAILURE_WINDOW', 15 * 60_000),
  };
  if (options.windowMs < 1000) {
    throw new SampleStartupError(
      `SIGN_IN_FAILURE_WINDOW must be at least one second, such as '15m' (got ${options.windowMs} ms)`,
    );
  }
  return options;
}

/** The `signInThrottle` namespace of `@nestjs/config`, read by `SignInThrottle`. */
export const signInThrottleConfig = registerAs('signInThrottle', () =>
  signInThrottleFromEnv(process.env),
);
