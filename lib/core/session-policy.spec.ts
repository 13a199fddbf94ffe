import {
  absoluteDeadline,
  activeExpiry,
  assessSession,
  effectiveTouchInterval,
  idleDeadline,
  obsoleteExpiry,
  SessionTimes,
  SessionTimings,
  withinGracePeriod,
} from './session-policy';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const T0 = new Date('2030-01-01T00:00:00.000Z').getTime();
const at = (offset: number) => new Date(T0 + offset);

const timings: SessionTimings = {
  idleTimeout: 30 * MINUTE,
  absoluteTimeout: 12 * HOUR,
  touchInterval: 60 * SECOND,
  obsoleteGracePeriod: 60 * SECOND,
  obsoleteInFlightLeeway: 5 * SECOND,
  obsoleteRetention: DAY,
  rotationInterval: 15 * MINUTE,
};

/** A fresh anonymous session created at T0 and last seen / rotated at T0. */
function times(overrides: Partial<SessionTimes> = {}): SessionTimes {
  return {
    createdAt: at(0),
    authenticatedAt: null,
    lastSeenAt: at(0),
    rotatedAt: at(0),
    obsoletedAt: null,
    revokedAt: null,
    ...overrides,
  };
}

describe('effectiveTouchInterval', () => {
  it('keeps the configured interval when it is below a tenth of the idle timeout', () => {
    expect(effectiveTouchInterval(60 * SECOND, 30 * MINUTE)).toBe(60 * SECOND);
  });

  it('caps the interval at a tenth of the idle timeout so an active session never idles out', () => {
    expect(effectiveTouchInterval(60 * SECOND, 5 * MINUTE)).toBe(30 * SECOND);
    expect(effectiveTouchInterval(HOUR, 30 * MINUTE)).toBe(3 * MINUTE);
  });

  it('keeps the configured interval when it equals a tenth of the idle timeout', () => {
    expect(effectiveTouchInterval(100, 1_000)).toBe(100);
  });

  it('rounds the tenth of the idle timeout down to whole milliseconds', () => {
    expect(effectiveTouchInterval(1_000, 1_009)).toBe(100);
    expect(effectiveTouchInterval(1_000, 9)).toBe(0);
  });

  it('keeps an interval of 0 (touch on every request)', () => {
    expect(effectiveTouchInterval(0, 30 * MINUTE)).toBe(0);
  });
});

describe('absoluteDeadline', () => {
  it('R9 counts from creation while the session was never authenticated', () => {
    expect(absoluteDeadline(times(), timings)).toEqual(at(12 * HOUR));
  });

  it('R9 counts from the last authentication when there is one', () => {
    const start = times({ authenticatedAt: at(2 * HOUR) });
    expect(absoluteDeadline(start, timings)).toEqual(at(14 * HOUR));
  });
});

describe('idleDeadline', () => {
  it('R8 is the last activity plus the idle timeout', () => {
    expect(idleDeadline(at(5 * MINUTE), timings)).toEqual(at(35 * MINUTE));
  });
});

describe('activeExpiry', () => {
  it('is the idle deadline when it comes before the absolute deadline', () => {
    expect(activeExpiry(times(), at(HOUR), timings)).toEqual(at(HOUR + 30 * MINUTE));
  });

  it('is the absolute deadline when it comes before the idle deadline', () => {
    expect(activeExpiry(times(), at(11 * HOUR + 50 * MINUTE), timings)).toEqual(at(12 * HOUR));
  });

  it('is the common moment when both deadlines coincide', () => {
    expect(activeExpiry(times(), at(11 * HOUR + 30 * MINUTE), timings)).toEqual(at(12 * HOUR));
  });

  it('R9 uses the authentication time for the absolute deadline', () => {
    const start = times({ authenticatedAt: at(HOUR) });
    expect(activeExpiry(start, at(12 * HOUR + 50 * MINUTE), timings)).toEqual(at(13 * HOUR));
  });

  it('returns a new Date, not one of the inputs', () => {
    const start = times();
    const lastSeen = at(0);
    const expiry = activeExpiry(start, lastSeen, timings);
    expect(expiry).not.toBe(lastSeen);
    expect(expiry).not.toBe(start.createdAt);
  });
});

describe('obsoleteExpiry', () => {
  it('R3 keeps an obsolete row for the retention period when it is longer than the grace period', () => {
    expect(obsoleteExpiry(at(0), timings)).toEqual(at(DAY));
  });

  it('R3 keeps an obsolete row at least for the grace period when retention is shorter', () => {
    const short = { ...timings, obsoleteRetention: 10 * SECOND, obsoleteGracePeriod: 5 * MINUTE };
    expect(obsoleteExpiry(at(0), short)).toEqual(at(5 * MINUTE));
  });

  it('counts from the moment the row was made obsolete', () => {
    expect(obsoleteExpiry(at(HOUR), timings)).toEqual(at(HOUR + DAY));
  });
});

describe('assessSession: active', () => {
  it('a session used just now is active with no touch and no rotation due', () => {
    expect(assessSession(times(), at(0), timings)).toEqual({
      state: 'active',
      touchDue: false,
      rotationDue: false,
    });
  });

  it('touch is not due 1 ms before the touch interval', () => {
    const verdict = assessSession(times(), at(60 * SECOND - 1), timings);
    expect(verdict).toEqual({ state: 'active', touchDue: false, rotationDue: false });
  });

  it('touch is due exactly at the touch interval', () => {
    const verdict = assessSession(times(), at(60 * SECOND), timings);
    expect(verdict).toEqual({ state: 'active', touchDue: true, rotationDue: false });
  });

  it('touch is due 1 ms after the touch interval', () => {
    const verdict = assessSession(times(), at(60 * SECOND + 1), timings);
    expect(verdict).toEqual({ state: 'active', touchDue: true, rotationDue: false });
  });

  it('touch is measured from lastSeenAt, not from creation', () => {
    const recent = times({ lastSeenAt: at(10 * MINUTE), rotatedAt: at(10 * MINUTE) });
    expect(assessSession(recent, at(10 * MINUTE + 59 * SECOND), timings)).toEqual({
      state: 'active',
      touchDue: false,
      rotationDue: false,
    });
  });

  it('with a touch interval of 0 every request touches', () => {
    const verdict = assessSession(times(), at(0), { ...timings, touchInterval: 0 });
    expect(verdict).toEqual({ state: 'active', touchDue: true, rotationDue: false });
  });

  it('rotation is not due 1 ms before the rotation interval', () => {
    const seen = times({ lastSeenAt: at(15 * MINUTE - 1) });
    expect(assessSession(seen, at(15 * MINUTE - 1), timings)).toEqual({
      state: 'active',
      touchDue: false,
      rotationDue: false,
    });
  });

  it('rotation is due exactly at the rotation interval', () => {
    const seen = times({ lastSeenAt: at(15 * MINUTE) });
    expect(assessSession(seen, at(15 * MINUTE), timings)).toEqual({
      state: 'active',
      touchDue: false,
      rotationDue: true,
    });
  });

  it('rotation is due after the rotation interval', () => {
    const seen = times({ lastSeenAt: at(20 * MINUTE) });
    expect(assessSession(seen, at(20 * MINUTE + 1), timings)).toEqual({
      state: 'active',
      touchDue: false,
      rotationDue: true,
    });
  });

  it('rotation is measured from rotatedAt, not from creation', () => {
    const rotated = times({ lastSeenAt: at(20 * MINUTE), rotatedAt: at(10 * MINUTE) });
    expect(assessSession(rotated, at(24 * MINUTE), timings)).toMatchObject({ rotationDue: false });
    expect(assessSession(rotated, at(25 * MINUTE), timings)).toMatchObject({ rotationDue: true });
  });

  it('a rotation interval of 0 turns rotation off, however long since the last rotation', () => {
    const off = { ...timings, rotationInterval: 0 };
    const seen = times({ lastSeenAt: at(11 * HOUR) });
    expect(assessSession(seen, at(11 * HOUR), off)).toEqual({
      state: 'active',
      touchDue: false,
      rotationDue: false,
    });
    expect(assessSession(times(), at(0), off)).toMatchObject({ rotationDue: false });
  });

  it('reports touch and rotation together when both are due', () => {
    expect(assessSession(times(), at(29 * MINUTE), timings)).toEqual({
      state: 'active',
      touchDue: true,
      rotationDue: true,
    });
  });
});

describe('assessSession: expiry', () => {
  it('R8 idle timeout: active one second before the idle deadline', () => {
    expect(assessSession(times(), at(30 * MINUTE - SECOND), timings)).toMatchObject({
      state: 'active',
    });
  });

  it('R8 idle timeout: expired (idle) exactly at the idle deadline', () => {
    expect(assessSession(times(), at(30 * MINUTE), timings)).toEqual({
      state: 'expired',
      reason: 'idle',
    });
  });

  it('R8 idle timeout: expired (idle) one second past the idle deadline', () => {
    expect(assessSession(times(), at(30 * MINUTE + SECOND), timings)).toEqual({
      state: 'expired',
      reason: 'idle',
    });
  });

  it('R8 idle timeout is counted from lastSeenAt', () => {
    const seen = times({ lastSeenAt: at(HOUR) });
    expect(assessSession(seen, at(HOUR + 30 * MINUTE - SECOND), timings)).toMatchObject({
      state: 'active',
    });
    expect(assessSession(seen, at(HOUR + 30 * MINUTE + SECOND), timings)).toEqual({
      state: 'expired',
      reason: 'idle',
    });
  });

  it('R9 absolute timeout: a busy session is active one second before the absolute deadline', () => {
    const busy = times({ lastSeenAt: at(12 * HOUR - MINUTE), rotatedAt: at(12 * HOUR - MINUTE) });
    expect(assessSession(busy, at(12 * HOUR - SECOND), timings)).toMatchObject({
      state: 'active',
    });
  });

  it('R9 absolute timeout: a busy session expires (absolute) exactly at the absolute deadline', () => {
    const busy = times({ lastSeenAt: at(12 * HOUR - MINUTE) });
    expect(assessSession(busy, at(12 * HOUR), timings)).toEqual({
      state: 'expired',
      reason: 'absolute',
    });
  });

  it('R9 absolute timeout: a busy session expires (absolute) one second past the deadline', () => {
    const busy = times({ lastSeenAt: at(12 * HOUR - MINUTE) });
    expect(assessSession(busy, at(12 * HOUR + SECOND), timings)).toEqual({
      state: 'expired',
      reason: 'absolute',
    });
  });

  it('R9 absolute timeout is counted from authenticatedAt when it is set', () => {
    const seenJustBefore = (now: number) =>
      times({
        authenticatedAt: at(HOUR),
        lastSeenAt: at(now - MINUTE),
        rotatedAt: at(now - MINUTE),
      });
    expect(
      assessSession(seenJustBefore(12 * HOUR + SECOND), at(12 * HOUR + SECOND), timings),
    ).toMatchObject({
      state: 'active',
    });
    expect(
      assessSession(seenJustBefore(13 * HOUR - SECOND), at(13 * HOUR - SECOND), timings),
    ).toMatchObject({
      state: 'active',
    });
    expect(
      assessSession(seenJustBefore(13 * HOUR + SECOND), at(13 * HOUR + SECOND), timings),
    ).toEqual({
      state: 'expired',
      reason: 'absolute',
    });
  });

  it('R9 absolute timeout is counted from createdAt when authenticatedAt is null', () => {
    const anonymous = times({ lastSeenAt: at(12 * HOUR - MINUTE) });
    expect(assessSession(anonymous, at(12 * HOUR - SECOND), timings)).toMatchObject({
      state: 'active',
    });
    expect(assessSession(anonymous, at(12 * HOUR + SECOND), timings)).toMatchObject({
      state: 'expired',
      reason: 'absolute',
    });
  });

  it('R9 a regeneration (new rotatedAt) does not extend the absolute deadline', () => {
    const rotated = times({
      lastSeenAt: at(12 * HOUR - MINUTE),
      rotatedAt: at(12 * HOUR - MINUTE),
    });
    expect(assessSession(rotated, at(12 * HOUR + SECOND), timings)).toEqual({
      state: 'expired',
      reason: 'absolute',
    });
  });

  it('reports absolute when both the idle and the absolute deadline have passed', () => {
    expect(assessSession(times(), at(13 * HOUR), timings)).toEqual({
      state: 'expired',
      reason: 'absolute',
    });
    const seen = times({ lastSeenAt: at(11 * HOUR + 45 * MINUTE) });
    expect(assessSession(seen, at(12 * HOUR + 15 * MINUTE), timings)).toEqual({
      state: 'expired',
      reason: 'absolute',
    });
  });
});

describe('assessSession: obsolete', () => {
  const obsolete = times({ obsoletedAt: at(10 * MINUTE), lastSeenAt: at(10 * MINUTE) });

  it('R3 an obsolete ID used right after regeneration is within grace', () => {
    expect(assessSession(obsolete, at(10 * MINUTE), timings)).toEqual({
      state: 'obsolete',
      withinGrace: true,
    });
  });

  it('R3 an obsolete ID is within grace 1 ms before the grace period ends', () => {
    expect(assessSession(obsolete, at(11 * MINUTE - 1), timings)).toEqual({
      state: 'obsolete',
      withinGrace: true,
    });
  });

  it('R3 an obsolete ID is past grace exactly at the end of the grace period', () => {
    expect(assessSession(obsolete, at(11 * MINUTE), timings)).toEqual({
      state: 'obsolete',
      withinGrace: false,
    });
  });

  it('R3 an obsolete ID is past grace one second after the grace period', () => {
    expect(assessSession(obsolete, at(11 * MINUTE + SECOND), timings)).toEqual({
      state: 'obsolete',
      withinGrace: false,
    });
  });

  it('R3 with a grace period of 0 an obsolete ID is never within grace', () => {
    expect(
      assessSession(obsolete, at(10 * MINUTE), { ...timings, obsoleteGracePeriod: 0 }),
    ).toEqual({ state: 'obsolete', withinGrace: false });
  });

  it('R3 obsolescence is judged before idle expiry', () => {
    const idleLongAgo = times({ lastSeenAt: at(0), obsoletedAt: at(40 * MINUTE) });
    expect(assessSession(idleLongAgo, at(40 * MINUTE + SECOND), timings)).toEqual({
      state: 'obsolete',
      withinGrace: true,
    });
    expect(assessSession(idleLongAgo, at(2 * HOUR), timings)).toEqual({
      state: 'obsolete',
      withinGrace: false,
    });
  });

  it('R3 obsolescence is judged before absolute expiry', () => {
    const old = times({ obsoletedAt: at(12 * HOUR - SECOND), lastSeenAt: at(12 * HOUR - SECOND) });
    expect(assessSession(old, at(12 * HOUR + SECOND), timings)).toEqual({
      state: 'obsolete',
      withinGrace: true,
    });
    expect(assessSession(old, at(13 * HOUR), timings)).toEqual({
      state: 'obsolete',
      withinGrace: false,
    });
  });
});

describe('assessSession: revoked sessions', () => {
  it('a revoked session is refused before any other rule', () => {
    expect(assessSession(times({ revokedAt: at(0), obsoletedAt: at(0) }), at(0), timings)).toEqual({
      state: 'revoked',
    });
  });
});

describe('withinGracePeriod', () => {
  it('R3 holds from the start of the grace period up to, not including, its end', () => {
    expect(withinGracePeriod(at(0), at(0), timings)).toBe(true);
    expect(withinGracePeriod(at(0), at(60 * SECOND - 1), timings)).toBe(true);
    expect(withinGracePeriod(at(0), at(60 * SECOND), timings)).toBe(false);
    expect(withinGracePeriod(at(0), at(DAY), timings)).toBe(false);
  });

  it('R3 agrees with assessSession on an obsolete session at both sides of the end', () => {
    for (const offset of [60 * SECOND - 1, 60 * SECOND]) {
      const verdict = assessSession(times({ obsoletedAt: at(0) }), at(offset), timings);
      expect(verdict).toEqual({
        state: 'obsolete',
        withinGrace: withinGracePeriod(at(0), at(offset), timings),
      });
    }
  });
});
