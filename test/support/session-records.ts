import type { SessionRecord } from '../../lib/core/session-record';

/** When every time of {@link sessionRecord} is, unless overridden. */
export const RECORD_T0 = new Date('2030-01-01T00:00:00.000Z');

/**
 * A stored session for unit specs: an anonymous live session created, seen and rotated at
 * {@link RECORD_T0}, expiring 30 minutes later, with nothing else set; `overrides` on top.
 */
export function sessionRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    idHash: Buffer.alloc(32),
    handle: 'handle-1',
    userId: null,
    data: {},
    createdAt: RECORD_T0,
    authenticatedAt: null,
    lastSeenAt: RECORD_T0,
    rotatedAt: RECORD_T0,
    expiresAt: new Date(RECORD_T0.getTime() + 30 * 60_000),
    obsoletedAt: null,
    obsoletedBy: null,
    presentedAt: RECORD_T0,
    revokedAt: null,
    successor: null,
    csrfSecret: null,
    rememberMeHandle: null,
    ip: null,
    userAgent: null,
    version: 1,
    ...overrides,
  };
}
