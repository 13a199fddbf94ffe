import { TIMINGS } from '../config';

/*
 * The time rules of the lifecycle as the README states them ("Expiry", "What an old ID gets",
 * "Remember me"), over plain millisecond time-stamps. The model decides every request with
 * these, so a boundary the package gets wrong (a second early or late) shows up as a step
 * whose outcome differs.
 */

/** Why a session got a new ID; `login` and `restore` cross an authentication boundary. */
export type Purpose = 'login' | 'restore' | 'privilege' | 'rotation';

/** The time-stamps the rules read from a stored session. */
export interface SessionTimes {
  createdAt: number;
  authenticatedAt: number | null;
  lastSeenAt: number;
  rotatedAt: number;
  obsoletedAt: number | null;
  revokedAt: number | null;
}

export type Verdict =
  | { state: 'active'; touchDue: boolean; rotationDue: boolean }
  | { state: 'expired'; reason: 'idle' | 'absolute' }
  | { state: 'obsolete'; withinGrace: boolean }
  | { state: 'revoked' };

/** A login or re-authentication restarts the absolute timeout; rotation never extends it. */
export function absoluteDeadline(times: SessionTimes): number {
  return (times.authenticatedAt ?? times.createdAt) + TIMINGS.absoluteTimeout;
}

export function idleDeadline(times: SessionTimes): number {
  return times.lastSeenAt + TIMINGS.idleTimeout;
}

/** How long an obsolete or revoked row is kept so that late use is recognised. */
export const RETENTION = Math.max(TIMINGS.obsoleteRetention, TIMINGS.obsoleteGracePeriod);

/** The stored `expires_at`: what garbage collection and the device list go by. */
export function expiresAt(times: SessionTimes): number {
  if (times.revokedAt !== null) return times.revokedAt + RETENTION;
  if (times.obsoletedAt !== null) return times.obsoletedAt + RETENTION;
  return Math.min(idleDeadline(times), absoluteDeadline(times));
}

export function withinGrace(since: number, now: number): boolean {
  return now - since < TIMINGS.obsoleteGracePeriod;
}

/** What a stored session is at `now`: revoked first, then obsolete, then expired, else active. */
export function assess(times: SessionTimes, now: number): Verdict {
  if (times.revokedAt !== null) return { state: 'revoked' };
  if (times.obsoletedAt !== null) {
    return { state: 'obsolete', withinGrace: withinGrace(times.obsoletedAt, now) };
  }
  if (now >= absoluteDeadline(times)) return { state: 'expired', reason: 'absolute' };
  if (now >= idleDeadline(times)) return { state: 'expired', reason: 'idle' };
  return {
    state: 'active',
    touchDue: now - times.lastSeenAt >= TIMINGS.touchInterval,
    rotationDue: now - times.rotatedAt >= TIMINGS.rotationInterval,
  };
}

/** A sign-in, re-authentication, password change or restore: the old ID reaches nothing. */
export function crossesAuthentication(purpose: Purpose | null): boolean {
  return purpose !== 'privilege' && purpose !== 'rotation';
}

export type ObsoleteUse = 'forward' | 'anonymous' | 'attack';

/**
 * The README's table: within grace, anonymous after an authentication boundary, forwarded after
 * a same-user regeneration until the successor was presented plus the in-flight leeway; after
 * grace (or after the leeway) the attack response.
 */
export function obsoleteUse(
  obsoletedAt: number,
  purpose: Purpose | null,
  successorPresentedAt: number | null,
  now: number,
): ObsoleteUse {
  if (!withinGrace(obsoletedAt, now)) return 'attack';
  if (crossesAuthentication(purpose)) return 'anonymous';
  if (
    successorPresentedAt !== null &&
    now - successorPresentedAt >= TIMINGS.obsoleteInFlightLeeway
  ) {
    return 'attack';
  }
  return 'forward';
}
