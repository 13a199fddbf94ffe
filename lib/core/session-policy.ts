import type { SessionRecord } from './session-record';

/** The time rules of the session lifecycle, in milliseconds, after defaults are applied. */
export interface SessionTimings {
  idleTimeout: number;
  absoluteTimeout: number;
  /** How long after its last recorded activity a session's `last_seen_at` is written again. */
  touchInterval: number;
  /** How long an obsolete (regenerated) ID is still taken for a real client's. */
  obsoleteGracePeriod: number;
  /** How long after its successor came into use an ID of a same-user regeneration is still served. */
  obsoleteInFlightLeeway: number;
  /** How long an obsolete row is kept so that late access is recognised. */
  obsoleteRetention: number;
  /** Periodic regeneration of an active session; 0 turns it off. */
  rotationInterval: number;
}

/** The time-stamps the lifecycle rules read. */
export type SessionTimes = Pick<
  SessionRecord,
  'createdAt' | 'authenticatedAt' | 'lastSeenAt' | 'rotatedAt' | 'obsoletedAt' | 'revokedAt'
>;

/** The time-stamps that fix the absolute deadline. */
export type SessionStart = Pick<SessionTimes, 'createdAt' | 'authenticatedAt'>;

/** What the rules say about a stored session at a given moment. */
export type SessionVerdict =
  | { state: 'active'; touchDue: boolean; rotationDue: boolean }
  | { state: 'expired'; reason: 'idle' | 'absolute' }
  | { state: 'obsolete'; withinGrace: boolean }
  | { state: 'revoked' };

/**
 * The touch interval actually used: the configured one, capped at a tenth of the idle timeout
 * so that a session in use never reaches its idle deadline just because a touch was skipped.
 */
export function effectiveTouchInterval(touchInterval: number, idleTimeout: number): number {
  return Math.min(touchInterval, Math.floor(idleTimeout / 10));
}

/**
 * The moment the absolute timeout ends a session: counted from the last authentication (a login
 * or re-authentication proves the user again), else from creation. Regeneration copies both
 * time-stamps, so rotation and privilege changes never extend it.
 */
export function absoluteDeadline(times: SessionStart, timings: SessionTimings): Date {
  const start = times.authenticatedAt ?? times.createdAt;
  return new Date(start.getTime() + timings.absoluteTimeout);
}

/** The moment the idle timeout ends a session if nothing happens after `lastSeenAt`. */
export function idleDeadline(lastSeenAt: Date, timings: SessionTimings): Date {
  return new Date(lastSeenAt.getTime() + timings.idleTimeout);
}

/** The value of `expires_at` for an active session last seen at `lastSeenAt`. */
export function activeExpiry(times: SessionStart, lastSeenAt: Date, timings: SessionTimings): Date {
  const idle = idleDeadline(lastSeenAt, timings);
  const absolute = absoluteDeadline(times, timings);
  return idle < absolute ? idle : absolute;
}

/**
 * The value of `expires_at` for a session made obsolete (or revoked) at `obsoletedAt`: the end
 * of its retention, so late use is still recognised before GC removes it.
 */
export function obsoleteExpiry(obsoletedAt: Date, timings: SessionTimings): Date {
  return new Date(
    obsoletedAt.getTime() + Math.max(timings.obsoleteRetention, timings.obsoleteGracePeriod),
  );
}

/**
 * Whether `now` is still within the grace period that began at `since` (an ID made obsolete, a
 * remember-me validator replaced): parallel requests of the same client are served, later use
 * is suspicious.
 */
export function withinGracePeriod(
  since: Date,
  now: Date,
  timings: Pick<SessionTimings, 'obsoleteGracePeriod'>,
): boolean {
  return now.getTime() - since.getTime() < timings.obsoleteGracePeriod;
}

/**
 * Decides what a stored session is at `now`, from its server-side time-stamps only. An obsolete
 * session is judged by its obsolescence alone: within the grace period it stands for its
 * successor (whose own deadlines then apply), after it any use is suspicious. A revoked
 * session is refused before anything else.
 */
export function assessSession(
  times: SessionTimes,
  now: Date,
  timings: SessionTimings,
): SessionVerdict {
  if (times.revokedAt) return { state: 'revoked' };
  if (times.obsoletedAt) {
    return { state: 'obsolete', withinGrace: withinGracePeriod(times.obsoletedAt, now, timings) };
  }
  if (now >= absoluteDeadline(times, timings)) return { state: 'expired', reason: 'absolute' };
  if (now >= idleDeadline(times.lastSeenAt, timings)) return { state: 'expired', reason: 'idle' };
  const since = (moment: Date) => now.getTime() - moment.getTime();
  return {
    state: 'active',
    touchDue: since(times.lastSeenAt) >= timings.touchInterval,
    rotationDue: timings.rotationInterval > 0 && since(times.rotatedAt) >= timings.rotationInterval,
  };
}
