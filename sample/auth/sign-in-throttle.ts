import { Inject, Injectable, Logger } from '@nestjs/common';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { LogFields, logLine, SECURITY_LOG_CONTEXT } from '../audit/log-line';
import type { SignInThrottleOptions } from '../config/sign-in-throttle.config';
import { signInThrottleConfig } from '../config/sign-in-throttle.config';
import { clientAddressKey } from './client-address';
import { KeyedLock } from './keyed-lock';
import { SignInThrottledException } from './sign-in-throttled.exception';

/** Who is signing in: the username typed and the client it came from. */
export interface SignInAttempt {
  username: string;
  ip: string | undefined;
  userAgent: string | undefined;
}

/** One limit: failures per username, or failures per client address. */
interface Scope {
  name: 'account' | 'address';
  limit: number;
  failures: RateLimiterMemory;
}

/**
 * Limits failed sign-ins per username and per client address, with the counters of
 * `rate-limiter-flexible` (its "login endpoint protection" pattern): a failure adds a point
 * to both counters for the window; the failure that reaches a limit blocks that username or
 * address for a whole window.
 *
 * Only failures count, so a user who signs in often never locks themselves out; a success does
 * not reset the count either, so it cannot buy a guesser more tries. Around the credential check:
 * - before it, a blocked username or address gets 429 `sign_in_throttled` even with the right
 *   password (a 200 among the 429s would still confirm a guess);
 * - attempts for one username, and from one address, are checked one at a time: a burst of
 *   parallel guesses would otherwise all pass the check before the first failure is counted.
 *
 * The counters live in this process: several instances would each count their own (the
 * library has the same counters on Redis or PostgreSQL for that). Anyone can lock an account
 * for the window by failing on purpose: that is the price of stopping a guesser who rotates
 * addresses, and why the window is short.
 */
@Injectable()
export class SignInThrottle {
  private readonly logger = new Logger(SECURITY_LOG_CONTEXT);
  private readonly lock = new KeyedLock();
  private readonly scopes: Scope[];

  constructor(@Inject(signInThrottleConfig.KEY) private readonly options: SignInThrottleOptions) {
    const duration = options.windowMs / 1000;
    const limits = [
      { name: 'account', limit: options.failuresPerAccount },
      { name: 'address', limit: options.failuresPerAddress },
    ] as const;
    this.scopes = limits
      .filter(({ limit }) => limit > 0)
      .map(({ name, limit }) => ({
        name,
        limit,
        failures: new RateLimiterMemory({ keyPrefix: `sign-in-${name}`, points: limit, duration }),
      }));
  }

  /**
   * Runs `verify` (the credential check) unless the username or the address is blocked, and
   * counts its failure (`null`). Throws `SignInThrottledException` when blocked.
   */
  async attempt<T>(attempt: SignInAttempt, verify: () => Promise<T | null>): Promise<T | null> {
    const keys = { account: attempt.username, address: clientAddressKey(attempt.ip) };
    // Address first, then username: always in this order, so two attempts never wait for each
    // other.
    return this.lock.run(`address:${keys.address}`, () =>
      this.lock.run(`account:${keys.account}`, () => this.check(attempt, keys, verify)),
    );
  }

  private async check<T>(
    attempt: SignInAttempt,
    keys: Record<Scope['name'], string>,
    verify: () => Promise<T | null>,
  ): Promise<T | null> {
    for (const scope of this.scopes) {
      const counted = await scope.failures.get(keys[scope.name]);
      if (counted && counted.consumedPoints >= scope.limit && counted.msBeforeNext > 0) {
        const seconds = Math.ceil(counted.msBeforeNext / 1000);
        this.logger.warn(logLine('sign_in.throttled', this.fields(attempt, scope, { seconds })));
        throw new SignInThrottledException(seconds);
      }
    }
    const result = await verify();
    if (result === null) {
      this.logger.log(logLine('sign_in.failed', this.fields(attempt)));
      for (const scope of this.scopes) await this.countFailure(attempt, scope, keys[scope.name]);
    }
    return result;
  }

  private async countFailure(attempt: SignInAttempt, scope: Scope, key: string): Promise<void> {
    const counted = await scope.failures.penalty(key);
    if (counted.consumedPoints < scope.limit) return;
    // The limit is reached: a whole window from now, not what is left of the first failure's.
    const blocked = await scope.failures.block(key, this.options.windowMs / 1000);
    const facts = { failures: scope.limit, seconds: Math.ceil(blocked.msBeforeNext / 1000) };
    this.logger.warn(logLine('sign_in.blocked', this.fields(attempt, scope, facts)));
  }

  /** The line's facts, the client last (as in the lines of `SecurityEventLog`). */
  private fields(attempt: SignInAttempt, scope?: Scope, facts: LogFields = {}): LogFields {
    return {
      scope: scope?.name,
      username: attempt.username,
      ...facts,
      ip: attempt.ip,
      ua: attempt.userAgent,
    };
  }
}
