import { RegenerationPurpose } from './obsolete-id-policy';
import { SessionRecord } from './session-record';

/** What a regeneration changes besides the ID. */
export interface RegenerationPlan {
  /**
   * `login` starts a new authentication; `restore` starts a remember-me session (a user, but no
   * fresh authentication); `privilege` and `rotation` keep the user and times.
   */
  purpose: RegenerationPurpose;
  /** For `restore`: the handle of the remembered device the new session comes from. */
  rememberMeHandle?: string;
  /** Why a rotation happens: the interval passed, or data changed under `regenerateOnWrite`. */
  reason?: 'interval' | 'write';
  /** The user of the successor (for `login` and `restore`). */
  userId?: string;
}

/** Whether a plan starts a user's session (a sign-in or a restore), as opposed to renewing one. */
export function startsLogin(plan: RegenerationPlan): boolean {
  return plan.purpose === 'login' || plan.purpose === 'restore';
}

/** The parts of the session being replaced that its successor may inherit. */
export type RegeneratedSession = Pick<
  SessionRecord,
  'userId' | 'authenticatedAt' | 'rememberMeHandle'
>;

/** What the successor of a regenerated session is, besides its new ID. */
export interface Successor {
  userId: string | null;
  /** `now` for a sign-in, `null` for a restore (not a fresh authentication), else inherited. */
  authenticatedAt: Date | null;
  /** A new login (another user, or any restore) is its own entry in the device list: a new handle. */
  newDeviceEntry: boolean;
  /** The data carries over, except into another user's session (it would leak to them). */
  keepsData: boolean;
  /** A sign-in gets a new CSRF secret: tokens handed out before it stop working. */
  newCsrfSecret: boolean;
  /** The remembered device the successor comes from: the restoring one, else inherited. */
  rememberMeHandle: string | null;
}

/** Decides what the successor of `old` is when `plan` regenerates it at `now`. */
export function planSuccessor(
  plan: RegenerationPlan,
  old: RegeneratedSession,
  now: Date,
): Successor {
  const login = startsLogin(plan);
  const userId = login ? (plan.userId ?? null) : old.userId;
  return {
    userId,
    authenticatedAt:
      plan.purpose === 'login' ? now : plan.purpose === 'restore' ? null : old.authenticatedAt,
    newDeviceEntry: plan.purpose === 'restore' || (login && old.userId !== userId),
    keepsData: !(login && old.userId !== null && old.userId !== userId),
    newCsrfSecret: login,
    rememberMeHandle:
      plan.purpose === 'restore' ? (plan.rememberMeHandle ?? null) : old.rememberMeHandle,
  };
}

/**
 * Whether the concurrent regeneration that won already did what `plan` asks: any new ID serves
 * a rotation or privilege change; a restore needs the winner to be that user's; a login needs
 * the winner to be that user's login from after `since` (when this request began). Otherwise
 * the plan is applied again on the winner.
 */
export function winnerFulfils(
  plan: RegenerationPlan,
  winner: Pick<SessionRecord, 'userId' | 'authenticatedAt'>,
  since: Date,
): boolean {
  if (plan.purpose === 'restore') return winner.userId === (plan.userId ?? null);
  if (plan.purpose !== 'login') return true;
  return (
    winner.userId === (plan.userId ?? null) &&
    winner.authenticatedAt !== null &&
    winner.authenticatedAt >= since
  );
}

/** The event a regeneration is reported with (its time, request and sessions aside). */
export type RegenerationReport =
  | { type: 'session.authenticated'; remembered: boolean }
  | { type: 'session.regenerated' }
  | { type: 'session.rotated'; reason: 'interval' | 'write' };

/**
 * The event a regeneration is reported with: one that starts a user's session is an
 * authentication (`remembered` for a restore), a privilege change a regeneration, anything else
 * a rotation (by interval unless the plan says it was a write).
 */
export function regenerationReport(plan: RegenerationPlan): RegenerationReport {
  if (startsLogin(plan)) {
    return { type: 'session.authenticated', remembered: plan.purpose === 'restore' };
  }
  if (plan.purpose === 'privilege') return { type: 'session.regenerated' };
  return { type: 'session.rotated', reason: plan.reason ?? 'interval' };
}

/** `maxSessionsPerUser` and what a sign-in over it does. */
export interface SessionLimit {
  max: number | null;
  policy: 'refuse' | 'evict-least-recently-used';
}

/**
 * What a regeneration must do about the session limit before it runs: nothing, or (serialised
 * per user, so concurrent sign-ins cannot both pass) refuse a sign-in when the user already holds
 * `max` other sessions, or evict the least recently used down to `keep` to make room.
 */
export type SessionLimitStep =
  | null
  | { userId: string; action: 'refuse-when-full'; max: number }
  | { userId: string; action: 'evict'; keep: number };

/**
 * The limit step of `plan` for a request whose session belongs to `currentUserId`. Only a
 * sign-in or restore of another user than the session's adds a login; a re-authentication of
 * the same user replaces one.
 */
export function sessionLimitStep(
  plan: RegenerationPlan,
  currentUserId: string | null | undefined,
  limit: SessionLimit,
): SessionLimitStep {
  const userId = startsLogin(plan) ? plan.userId : undefined;
  if (!userId || limit.max === null || currentUserId === userId) return null;
  return limit.policy === 'refuse'
    ? { userId, action: 'refuse-when-full', max: limit.max }
    : { userId, action: 'evict', keep: limit.max - 1 };
}

/**
 * Whether a sign-in must be refused: the user's `active` sessions, the one the request already
 * holds (`currentHandle`, which the new login replaces) aside, already number `max`.
 */
export function limitReached(
  active: readonly Pick<SessionRecord, 'handle'>[],
  max: number,
  currentHandle: string | undefined,
): boolean {
  return active.filter((session) => session.handle !== currentHandle).length >= max;
}
