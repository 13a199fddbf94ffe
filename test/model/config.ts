import type { SessionModuleOptions } from 'nest-session-security';

/*
 * The configuration the model test runs the package with, and the same numbers as the model
 * reads them. Short durations, so that a program of a few dozen steps crosses every boundary:
 * touch, rotation, grace, in-flight leeway, idle, absolute, retention and remember-me lifetime.
 */

const SECOND = 1_000;
const MINUTE = 60 * SECOND;

/** The time rules in milliseconds (what `SessionTimings` resolves to for `MODEL_OPTIONS`). */
export const TIMINGS = {
  idleTimeout: 10 * MINUTE,
  absoluteTimeout: 60 * MINUTE,
  /** 60 s, under the cap of a tenth of the idle timeout. */
  touchInterval: 60 * SECOND,
  rotationInterval: 5 * MINUTE,
  obsoleteGracePeriod: 60 * SECOND,
  obsoleteInFlightLeeway: 5 * SECOND,
  obsoleteRetention: 20 * MINUTE,
  rememberMeLifetime: 120 * MINUTE,
  maxSessionsPerUser: 3,
} as const;

export type Timings = typeof TIMINGS;

/** The module options of the app under test (CSRF stays off, as in the other suites). */
export const MODEL_OPTIONS: SessionModuleOptions = {
  idleTimeout: '10m',
  absoluteTimeout: '60m',
  touchInterval: '60s',
  rotationInterval: '5m',
  obsoleteGracePeriod: '60s',
  obsoleteInFlightLeeway: '5s',
  obsoleteRetention: '20m',
  maxSessionsPerUser: TIMINGS.maxSessionsPerUser,
  sessionLimitPolicy: 'evict-least-recently-used',
  rememberMe: { lifetime: '120m' },
  // The program runs garbage collection as one of its steps.
  gcInterval: false,
};

/** The users programs sign in as. */
export const USERS = ['alice', 'bob', 'mallory'] as const;
export type User = (typeof USERS)[number];

/**
 * The browsers: each belongs to a person, who usually signs in as themselves. `mallory#1` is the
 * attacker's: she has an account of her own, and her browser also takes copies of other
 * browsers' cookies (a stolen cookie then follows rotations like a real browser's).
 */
export const BROWSERS = ['alice#1', 'alice#2', 'bob#1', 'mallory#1'] as const;
export type BrowserName = (typeof BROWSERS)[number];

/** The person a browser belongs to. */
export function ownerOf(browser: BrowserName): User {
  return browser.split('#')[0] as User;
}
