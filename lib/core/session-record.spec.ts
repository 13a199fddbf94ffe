import { countActive, SessionRecord } from './session-record';

function row(obsoletedAt: Date | null): SessionRecord {
  const at = new Date('2030-01-01T00:00:00.000Z');
  return {
    idHash: Buffer.alloc(32),
    handle: 'handle-1',
    userId: 'u1',
    data: {},
    createdAt: at,
    authenticatedAt: at,
    lastSeenAt: at,
    rotatedAt: at,
    expiresAt: at,
    obsoletedAt,
    obsoletedBy: obsoletedAt ? 'rotation' : null,
    presentedAt: at,
    revokedAt: null,
    successor: null,
    csrfSecret: null,
    rememberMeHandle: null,
    ip: null,
    userAgent: null,
    version: 1,
  };
}

describe('countActive', () => {
  it('counts the rows that were live sessions, not the obsolete IDs of their chains', () => {
    const obsolete = row(new Date('2030-01-01T00:00:00.000Z'));
    expect(countActive([])).toBe(0);
    expect(countActive([row(null), obsolete, row(null), obsolete])).toBe(2);
  });
});
