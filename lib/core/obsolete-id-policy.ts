import { SessionTimings, withinGracePeriod } from './session-policy';

/**
 * Why a session got a new ID. `login` covers every interactive authentication (sign-in from an
 * anonymous session, sign-in of another user, re-authentication, a password change); `restore`
 * starts a session from a remember-me token; `privilege` and `rotation` keep the user.
 */
export type RegenerationPurpose = 'login' | 'restore' | 'privilege' | 'rotation';

/**
 * Whether a regeneration crosses an authentication boundary: the new session carries rights
 * (a user, a fresher authentication) that the old ID never had, so the old ID must reach
 * nothing of it. Rows retired before the purpose was recorded (`null`) count as crossing.
 */
export function crossesAuthentication(purpose: RegenerationPurpose | null): boolean {
  return purpose !== 'privilege' && purpose !== 'rotation';
}

/**
 * What a request presenting an obsolete ID gets: served as its successor (`forward`), answered
 * as if it carried no session (`anonymous`), or the attack response (`attack`).
 */
export type ObsoleteUse = 'forward' | 'anonymous' | 'attack';

/** The time-stamps of an obsolete row that decide its use. */
export interface ObsoleteTimes {
  obsoletedAt: Date;
  obsoletedBy: RegenerationPurpose | null;
}

/**
 * Decides what an obsolete ID gets at `now`. After the grace period a real client has long had
 * the new cookie, so any use is the attack response. Within it, an ID retired by a sign-in, a
 * re-authentication, a password change or a restore reaches nothing (a planted pre-login ID, the
 * previous user's copy, a thief's copy from before the re-authentication). An ID retired by a
 * same-user regeneration is forwarded to its successor (a lost Set-Cookie, requests in flight)
 * until a client has presented the successor, plus `obsoleteInFlightLeeway` for requests that
 * were already on their way: later, two clients hold the session, and one of them is a copy.
 *
 * @param successorPresentedAt when a client first presented the successor's own token; `null`
 * when none has (or when the successor was not looked at yet).
 */
export function judgeObsoleteUse(
  obsolete: ObsoleteTimes,
  successorPresentedAt: Date | null,
  now: Date,
  timings: Pick<SessionTimings, 'obsoleteGracePeriod' | 'obsoleteInFlightLeeway'>,
): ObsoleteUse {
  if (!withinGracePeriod(obsolete.obsoletedAt, now, timings)) return 'attack';
  if (crossesAuthentication(obsolete.obsoletedBy)) return 'anonymous';
  if (
    successorPresentedAt &&
    now.getTime() - successorPresentedAt.getTime() >= timings.obsoleteInFlightLeeway
  ) {
    return 'attack';
  }
  return 'forward';
}
