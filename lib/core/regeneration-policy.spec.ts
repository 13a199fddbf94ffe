import {
  limitReached,
  planSuccessor,
  RegeneratedSession,
  RegenerationPlan,
  regenerationReport,
  sessionLimitStep,
  startsLogin,
  winnerFulfils,
} from './regeneration-policy';

const T0 = new Date('2026-01-01T00:00:00Z');
const NOW = new Date('2026-01-01T01:00:00Z');

function old(overrides: Partial<RegeneratedSession> = {}): RegeneratedSession {
  return { userId: 'u1', authenticatedAt: T0, rememberMeHandle: 'device-1', ...overrides };
}

describe('startsLogin', () => {
  it.each<[RegenerationPlan['purpose'], boolean]>([
    ['login', true],
    ['restore', true],
    ['privilege', false],
    ['rotation', false],
  ])('%s: %s', (purpose, expected) => {
    expect(startsLogin({ purpose })).toBe(expected);
  });
});

describe('planSuccessor', () => {
  it('R2 a sign-in from an anonymous session keeps the data, a new device entry, a fresh authentication and CSRF secret', () => {
    const next = planSuccessor(
      { purpose: 'login', userId: 'u1' },
      old({ userId: null, authenticatedAt: null, rememberMeHandle: null }),
      NOW,
    );
    expect(next).toEqual({
      userId: 'u1',
      authenticatedAt: NOW,
      newDeviceEntry: true,
      keepsData: true,
      newCsrfSecret: true,
      rememberMeHandle: null,
    });
  });

  it('R2 a sign-in of another user carries no data over and is a new device entry', () => {
    const next = planSuccessor({ purpose: 'login', userId: 'u2' }, old(), NOW);
    expect(next.userId).toBe('u2');
    expect(next.keepsData).toBe(false);
    expect(next.newDeviceEntry).toBe(true);
    expect(next.newCsrfSecret).toBe(true);
  });

  it('a re-authentication of the same user keeps the data and the device entry, renews authenticatedAt', () => {
    const next = planSuccessor({ purpose: 'login', userId: 'u1' }, old(), NOW);
    expect(next).toEqual({
      userId: 'u1',
      authenticatedAt: NOW,
      newDeviceEntry: false,
      keepsData: true,
      newCsrfSecret: true,
      rememberMeHandle: 'device-1',
    });
  });

  it('a restore is not a fresh authentication, is its own device entry and links the remembered device', () => {
    const next = planSuccessor(
      { purpose: 'restore', userId: 'u1', rememberMeHandle: 'device-2' },
      old({ userId: null, authenticatedAt: null, rememberMeHandle: null }),
      NOW,
    );
    expect(next).toEqual({
      userId: 'u1',
      authenticatedAt: null,
      newDeviceEntry: true,
      keepsData: true,
      newCsrfSecret: true,
      rememberMeHandle: 'device-2',
    });
  });

  it('a restore over the same user is still its own device entry', () => {
    expect(planSuccessor({ purpose: 'restore', userId: 'u1' }, old(), NOW).newDeviceEntry).toBe(
      true,
    );
  });

  it.each<RegenerationPlan['purpose']>(['privilege', 'rotation'])(
    '%s keeps the user, times, device entry, CSRF secret and remembered device',
    (purpose) => {
      expect(planSuccessor({ purpose }, old(), NOW)).toEqual({
        userId: 'u1',
        authenticatedAt: T0,
        newDeviceEntry: false,
        keepsData: true,
        newCsrfSecret: false,
        rememberMeHandle: 'device-1',
      });
    },
  );

  it('a plan without a user signs in nobody (a login of no user yields an anonymous successor)', () => {
    expect(planSuccessor({ purpose: 'login' }, old(), NOW).userId).toBeNull();
  });
});

describe('winnerFulfils', () => {
  const since = new Date('2026-01-01T00:30:00Z');

  it.each<RegenerationPlan['purpose']>(['privilege', 'rotation'])(
    'any new ID serves a %s',
    (purpose) => {
      expect(winnerFulfils({ purpose }, { userId: null, authenticatedAt: null }, since)).toBe(true);
    },
  );

  it("a restore is fulfilled by the same user's winner only", () => {
    const plan: RegenerationPlan = { purpose: 'restore', userId: 'u1' };
    expect(winnerFulfils(plan, { userId: 'u1', authenticatedAt: null }, since)).toBe(true);
    expect(winnerFulfils(plan, { userId: 'u2', authenticatedAt: NOW }, since)).toBe(false);
    expect(winnerFulfils(plan, { userId: null, authenticatedAt: null }, since)).toBe(false);
  });

  it("a login needs that user's authentication from after the request began", () => {
    const plan: RegenerationPlan = { purpose: 'login', userId: 'u1' };
    expect(winnerFulfils(plan, { userId: 'u1', authenticatedAt: since }, since)).toBe(true);
    expect(winnerFulfils(plan, { userId: 'u1', authenticatedAt: NOW }, since)).toBe(true);
    expect(winnerFulfils(plan, { userId: 'u1', authenticatedAt: T0 }, since)).toBe(false);
    expect(winnerFulfils(plan, { userId: 'u1', authenticatedAt: null }, since)).toBe(false);
    expect(winnerFulfils(plan, { userId: 'u2', authenticatedAt: NOW }, since)).toBe(false);
  });
});

describe('regenerationReport', () => {
  it('a sign-in is reported as an authentication', () => {
    expect(regenerationReport({ purpose: 'login', userId: 'u1' })).toEqual({
      type: 'session.authenticated',
      remembered: false,
    });
  });

  it('a restore is reported as a remembered authentication', () => {
    expect(regenerationReport({ purpose: 'restore', userId: 'u1' })).toEqual({
      type: 'session.authenticated',
      remembered: true,
    });
  });

  it('a privilege change is reported as a regeneration', () => {
    expect(regenerationReport({ purpose: 'privilege' })).toEqual({ type: 'session.regenerated' });
  });

  it('a rotation is reported with its reason, by interval unless a write caused it', () => {
    expect(regenerationReport({ purpose: 'rotation' })).toEqual({
      type: 'session.rotated',
      reason: 'interval',
    });
    expect(regenerationReport({ purpose: 'rotation', reason: 'write' })).toEqual({
      type: 'session.rotated',
      reason: 'write',
    });
  });
});

describe('sessionLimitStep', () => {
  const evict = { max: 3, policy: 'evict-least-recently-used' } as const;
  const refuse = { max: 3, policy: 'refuse' } as const;

  it('no limit configured: nothing to do', () => {
    expect(
      sessionLimitStep({ purpose: 'login', userId: 'u1' }, null, { ...evict, max: null }),
    ).toBeNull();
  });

  it.each<RegenerationPlan['purpose']>(['privilege', 'rotation'])(
    'a %s adds no login: nothing to do',
    (purpose) => {
      expect(sessionLimitStep({ purpose }, 'u1', evict)).toBeNull();
    },
  );

  it('a re-authentication of the same user replaces its login: nothing to do', () => {
    expect(sessionLimitStep({ purpose: 'login', userId: 'u1' }, 'u1', refuse)).toBeNull();
  });

  it('a login without a user adds no login of anyone: nothing to do', () => {
    expect(sessionLimitStep({ purpose: 'login' }, null, refuse)).toBeNull();
  });

  it('evict-least-recently-used makes room for the new login: keeps max - 1', () => {
    expect(sessionLimitStep({ purpose: 'login', userId: 'u1' }, null, evict)).toEqual({
      userId: 'u1',
      action: 'evict',
      keep: 2,
    });
    expect(sessionLimitStep({ purpose: 'restore', userId: 'u1' }, 'u2', evict)).toEqual({
      userId: 'u1',
      action: 'evict',
      keep: 2,
    });
  });

  it('refuse checks the user holds fewer than max', () => {
    expect(sessionLimitStep({ purpose: 'login', userId: 'u1' }, undefined, refuse)).toEqual({
      userId: 'u1',
      action: 'refuse-when-full',
      max: 3,
    });
  });
});

describe('limitReached', () => {
  const sessions = (...handles: string[]) => handles.map((handle) => ({ handle }));

  it('refuses when the other active sessions already number max', () => {
    expect(limitReached(sessions('a', 'b'), 2, undefined)).toBe(true);
    expect(limitReached(sessions('a', 'b', 'c'), 2, undefined)).toBe(true);
  });

  it('admits below max', () => {
    expect(limitReached(sessions('a'), 2, undefined)).toBe(false);
    expect(limitReached([], 1, undefined)).toBe(false);
  });

  it("the request's own login does not count: the new one replaces it", () => {
    expect(limitReached(sessions('a', 'current'), 2, 'current')).toBe(false);
    expect(limitReached(sessions('a', 'b', 'current'), 2, 'current')).toBe(true);
  });
});
