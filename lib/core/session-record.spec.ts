import { RECORD_T0, sessionRecord } from '../../test/support/session-records';
import { afterUpdate, countActive, SessionRecord, withData } from './session-record';

function row(obsoletedAt: Date | null): SessionRecord {
  return sessionRecord({
    userId: 'u1',
    authenticatedAt: RECORD_T0,
    obsoletedAt,
    obsoletedBy: obsoletedAt ? 'rotation' : null,
  });
}

describe('countActive', () => {
  it('counts the rows that were live sessions, not the obsolete IDs of their chains', () => {
    const obsolete = row(RECORD_T0);
    expect(countActive([])).toBe(0);
    expect(countActive([row(null), obsolete, row(null), obsolete])).toBe(2);
  });
});

/** A record whose every field holds a value of its own, so a field left out shows. */
function distinct(): SessionRecord {
  const at = (minute: number) => new Date(Date.UTC(2030, 0, 1, 0, minute));
  return {
    idHash: Buffer.alloc(32, 1),
    handle: 'handle-2',
    userId: 'u2',
    data: { cart: ['a-1'] },
    createdAt: at(1),
    authenticatedAt: at(2),
    lastSeenAt: at(3),
    rotatedAt: at(4),
    expiresAt: at(5),
    obsoletedAt: at(6),
    obsoletedBy: 'login',
    presentedAt: at(7),
    revokedAt: at(8),
    successor: Buffer.alloc(48, 2),
    csrfSecret: Buffer.alloc(32, 3),
    rememberMeHandle: 'device-1',
    ip: '192.0.2.1',
    userAgent: 'agent',
    version: 7,
  };
}

describe('withData', () => {
  it('copies every field of the record, with the data given', () => {
    const record = distinct();
    const data = { n: 1 };
    const copied = withData(record, data);
    expect(copied).toEqual({ ...record, data });
    expect(Object.keys(copied).sort()).toEqual(Object.keys(record).sort());
    expect(copied.data).toBe(data);
    copied.version = 8;
    expect(record.version).toBe(7);
  });
});

describe('afterUpdate', () => {
  it('gives the data, version and CSRF secret the UPDATE left, and its touch', () => {
    const record = distinct();
    const touch = {
      lastSeenAt: new Date(Date.UTC(2030, 0, 2)),
      expiresAt: new Date(Date.UTC(2030, 0, 3)),
    };
    const secret = Buffer.alloc(32, 9);
    expect(afterUpdate(record, { data: { n: 2 }, version: 8, csrfSecret: secret, touch })).toEqual({
      ...record,
      ...touch,
      data: { n: 2 },
      version: 8,
      csrfSecret: secret,
    });
    expect(record).toEqual(distinct());
  });

  it('keeps the deadlines when the UPDATE made no touch', () => {
    const record = distinct();
    const next = afterUpdate(record, { data: {}, version: 8, csrfSecret: null });
    expect(next).toEqual({ ...record, data: {}, version: 8, csrfSecret: null });
  });
});
