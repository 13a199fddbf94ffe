import { HttpStatus } from '@nestjs/common';
import { SessionDataError } from '../core/errors';
import { JsonValue } from '../core/json-value';
import { SessionRecord } from '../core/session-record';
import { RECORD_T0, sessionRecord } from '../../test/support/session-records';
import { generateToken, hashToken } from '../core/session-token';
import { SessionDataTooLargeException, SessionDenialCode } from '../errors/session.exceptions';
import { contextOf, Session } from './session';
import { SessionContext } from './session-context';

type Data = Record<string, unknown>;

const T0 = RECORD_T0;

function newContext(): SessionContext {
  return new SessionContext(new Date(), () => ({ ip: null, userAgent: null }), false);
}

function newSession(maxDataSize = 8192): { session: Session<Data>; context: SessionContext } {
  const context = newContext();
  return { session: new Session<Data>(context, maxDataSize), context };
}

function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return sessionRecord({ idHash: hashToken(generateToken()), ...overrides });
}

/** A session over a context that adopted a stored record holding `data`. */
function storedSession(data: Record<string, JsonValue>, maxDataSize = 8192) {
  const { session, context } = newSession(maxDataSize);
  context.adopt(generateToken(), record({ data }));
  return { session, context };
}

function changesOf(context: SessionContext): Record<string, JsonValue | undefined> {
  return Object.fromEntries(context.changes);
}

describe('Session: reading and writing data', () => {
  it('a new session is empty', () => {
    const { session, context } = newSession();
    expect(session.keys()).toEqual([]);
    expect(session.get('a')).toBeUndefined();
    expect(session.has('a')).toBe(false);
    expect(context.hasChanges).toBe(false);
  });

  it('set then get, has and keys see the value', () => {
    const { session } = newSession();
    session.set('cart', [{ sku: 'A', qty: 2 }]);
    session.set('theme', 'dark');
    expect(session.get('cart')).toEqual([{ sku: 'A', qty: 2 }]);
    expect(session.get('theme')).toBe('dark');
    expect(session.has('cart')).toBe(true);
    expect(session.has('other')).toBe(false);
    expect(session.keys()).toEqual(['cart', 'theme']);
  });

  it('set records the change for the write after the handler', () => {
    const { session, context } = newSession();
    session.set('a', 1);
    session.set('b', { c: [true, null] });
    expect(changesOf(context)).toEqual({ a: 1, b: { c: [true, null] } });
    expect(context.hasChanges).toBe(true);
    expect(context.replaced).toBe(false);
    expect(context.pendingChange()).toEqual({
      replace: false,
      set: { a: 1, b: { c: [true, null] } },
      remove: [],
    });
  });

  it('a second set of the same key replaces the value and the change', () => {
    const { session, context } = newSession();
    session.set('a', 1);
    session.set('a', 2);
    expect(session.get('a')).toBe(2);
    expect(changesOf(context)).toEqual({ a: 2 });
  });

  it('set accepts falsy JSON values and keeps the key', () => {
    const { session, context } = newSession();
    for (const [key, value] of [
      ['zero', 0],
      ['empty', ''],
      ['no', false],
      ['nothing', null],
    ] as const) {
      session.set(key, value);
      expect(session.has(key)).toBe(true);
      expect(session.get(key)).toBe(value);
    }
    expect(context.pendingChange().set).toEqual({ zero: 0, empty: '', no: false, nothing: null });
  });

  it('keys of the stored record are visible after adopt', () => {
    const { session, context } = storedSession({ a: 1, b: 'x' });
    expect(session.keys()).toEqual(['a', 'b']);
    expect(session.get('b')).toBe('x');
    expect(context.hasChanges).toBe(false);
  });

  it('delete removes a set key and records a removal', () => {
    const { session, context } = storedSession({ a: 1, b: 2 });
    session.delete('a');
    expect(session.has('a')).toBe(false);
    expect(session.get('a')).toBeUndefined();
    expect(session.keys()).toEqual(['b']);
    expect(changesOf(context)).toEqual({ a: undefined });
    expect(context.changes.has('a')).toBe(true);
    expect(context.pendingChange()).toEqual({ replace: false, set: {}, remove: ['a'] });
  });

  it('delete of a key set in this request records a removal instead of the write', () => {
    const { session, context } = newSession();
    session.set('a', 1);
    session.delete('a');
    expect(session.has('a')).toBe(false);
    expect(context.pendingChange()).toEqual({ replace: false, set: {}, remove: ['a'] });
  });

  it('set after delete records the write again', () => {
    const { session, context } = storedSession({ a: 1 });
    session.delete('a');
    session.set('a', 3);
    expect(context.pendingChange()).toEqual({ replace: false, set: { a: 3 }, remove: [] });
  });

  it('delete of an absent key records no change', () => {
    const { session, context } = storedSession({ a: 1 });
    session.delete('missing');
    expect(context.changes.size).toBe(0);
    expect(context.hasChanges).toBe(false);
    expect(session.keys()).toEqual(['a']);
  });

  it('delete of an absent key on a new session records no change', () => {
    const { session, context } = newSession();
    session.delete('missing');
    expect(context.hasChanges).toBe(false);
  });

  it('clear on an empty never-stored session records nothing', () => {
    const { session, context } = newSession();
    session.clear();
    expect(context.replaced).toBe(false);
    expect(context.changes.size).toBe(0);
    expect(context.hasChanges).toBe(false);
  });

  it('clear of a new session with data removes everything and replaces the whole object', () => {
    const { session, context } = newSession();
    session.set('a', 1);
    session.clear();
    expect(session.keys()).toEqual([]);
    expect(context.changes.size).toBe(0);
    expect(context.replaced).toBe(true);
    expect(context.hasChanges).toBe(true);
    expect(context.pendingChange()).toEqual({ replace: true, set: {}, remove: [] });
  });

  it('clear of a stored session replaces the stored object', () => {
    const { session, context } = storedSession({ a: 1, b: 2 });
    session.clear();
    expect(session.keys()).toEqual([]);
    expect(context.replaced).toBe(true);
    expect(context.pendingChange()).toEqual({ replace: true, set: {}, remove: [] });
  });

  it('clear of a stored session with no data still replaces it (the row exists)', () => {
    const { session, context } = storedSession({});
    session.clear();
    expect(context.replaced).toBe(true);
    expect(context.hasChanges).toBe(true);
  });

  it('pendingChange after clear then set gives replace:true and the whole data', () => {
    const { session, context } = storedSession({ old: 1, other: 2 });
    session.clear();
    session.set('a', 1);
    session.set('b', [2]);
    session.delete('a');
    session.set('c', 'x');
    expect(context.pendingChange()).toEqual({ replace: true, set: { b: [2], c: 'x' }, remove: [] });
    expect(context.snapshot()).toEqual({ b: [2], c: 'x' });
  });
});

describe('Session: set refuses non-JSON values and leaves the session unchanged', () => {
  it.each([
    ['undefined', undefined, /is a undefined/],
    ['a function', () => 1, /is a function/],
    ['a Date', new Date(0), /is a Date/],
    ['a Map', new Map(), /is a Map/],
    ['NaN', NaN, /is NaN/],
    ['a bigint', BigInt(1), /is a bigint/],
  ])('%s throws SessionDataError naming the key', (_label, value, pattern) => {
    const { session, context } = storedSession({ a: 'old' });
    session.set('b', 'kept');
    let error: unknown;
    try {
      session.set('a', value);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SessionDataError);
    expect((error as Error).message).toMatch(/^session value "a"/);
    expect((error as Error).message).toMatch(pattern);
    expect(session.get('a')).toBe('old');
    expect(changesOf(context)).toEqual({ b: 'kept' });
  });

  it('a nested non-JSON value names its path and stores nothing for a new key', () => {
    const { session, context } = newSession();
    expect(() => session.set('profile', { dates: [new Date(0)] })).toThrow(
      'session value "profile".dates[0] is a Date',
    );
    expect(session.has('profile')).toBe(false);
    expect(session.keys()).toEqual([]);
    expect(context.hasChanges).toBe(false);
  });

  it('a cyclic value is refused', () => {
    const { session, context } = newSession();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => session.set('c', cyclic)).toThrow(SessionDataError);
    expect(session.has('c')).toBe(false);
    expect(context.hasChanges).toBe(false);
  });
});

describe('Session: set refuses data over maxDataSize and keeps the previous value', () => {
  it('data exactly at the limit is accepted', () => {
    // {"a":"<n chars>"} is n + 8 bytes.
    const { session, context } = newSession(20);
    session.set('a', 'x'.repeat(12));
    expect(Buffer.byteLength(JSON.stringify(context.snapshot()))).toBe(20);
    expect(session.get('a')).toBe('x'.repeat(12));
  });

  it('one byte over the limit throws SessionDataTooLargeException (413) naming the limit', () => {
    const { session } = newSession(20);
    let error: unknown;
    try {
      session.set('a', 'x'.repeat(13));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SessionDataTooLargeException);
    const exception = error as SessionDataTooLargeException;
    expect(exception.getStatus()).toBe(HttpStatus.PAYLOAD_TOO_LARGE);
    expect(exception.getStatus()).toBe(413);
    expect(exception.code).toBe(SessionDenialCode.DataTooLarge);
    expect(exception.size).toBe(21);
    expect(exception.limit).toBe(20);
    expect(exception.getResponse()).toEqual({
      statusCode: 413,
      error: 'Payload Too Large',
      code: 'session_data_too_large',
      message: 'Session data would be 21 bytes, over the limit of 20 bytes (maxDataSize).',
    });
    expect(exception.message).toContain('20 bytes');
  });

  it('a new key that is too large is not stored and records no change', () => {
    const { session, context } = newSession(20);
    expect(() => session.set('a', 'x'.repeat(100))).toThrow(SessionDataTooLargeException);
    expect(session.has('a')).toBe(false);
    expect(session.keys()).toEqual([]);
    expect(context.hasChanges).toBe(false);
  });

  it('replacing a stored value with one too large keeps the stored value', () => {
    const { session, context } = storedSession({ a: 'small' }, 30);
    expect(() => session.set('a', 'x'.repeat(100))).toThrow(SessionDataTooLargeException);
    expect(session.get('a')).toBe('small');
    expect(context.hasChanges).toBe(false);
  });

  it('replacing a value set in this request with one too large keeps that value and its change', () => {
    const { session, context } = newSession(30);
    session.set('a', 'first');
    expect(() => session.set('a', 'x'.repeat(100))).toThrow(SessionDataTooLargeException);
    expect(session.get('a')).toBe('first');
    expect(changesOf(context)).toEqual({ a: 'first' });
  });

  it('after many sets, deletes and a clear, the size each set checks is that of JSON.stringify of the data (counted per entry after the first)', () => {
    // A seeded generator: the same sequence on every run.
    let seed = 7;
    const next = (n: number) => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % n;
    const keys = ['a', 'é', '"q"', '__proto__', '', '10', '2', 'long'.repeat(8)];
    const values: JsonValue[] = [
      0,
      -1.5,
      'x',
      'é\u2028"\\',
      null,
      true,
      [1, { b: 'c' }],
      { n: [] },
    ];
    const { session, context } = storedSession({ a: 1, '10': 'ten' }, 1_000_000);
    for (let step = 0; step < 2_000; step++) {
      const key = keys[next(keys.length)];
      const choice = next(20);
      if (choice === 0) session.clear();
      else if (choice < 4) session.delete(key);
      else {
        const value = values[next(values.length)];
        const expected = Buffer.byteLength(
          JSON.stringify({ ...Object.fromEntries(context.data), [key]: value }),
        );
        // The size a set checks, read from its refusal one byte under it.
        let refused: unknown;
        try {
          new Session<Data>(context, expected - 1).set(key, value);
        } catch (error) {
          refused = error;
        }
        expect(refused).toBeInstanceOf(SessionDataTooLargeException);
        expect((refused as SessionDataTooLargeException).size).toBe(expected);
        session.set(key, value);
        expect(Buffer.byteLength(JSON.stringify(context.snapshot()))).toBe(expected);
      }
    }
  });

  it('the size counts the whole data, not just the new key', () => {
    const { session } = storedSession({ big: 'x'.repeat(50) }, 70);
    expect(() => session.set('b', 'y'.repeat(20))).toThrow(SessionDataTooLargeException);
    expect(session.keys()).toEqual(['big']);
  });

  it('the size is counted in UTF-8 bytes, not characters', () => {
    const { session } = newSession(20);
    // {"a":"éééééé"} is 8 + 12 = 20 bytes but 14 characters.
    session.set('a', 'é'.repeat(6));
    expect(() => session.set('a', 'é'.repeat(7))).toThrow(SessionDataTooLargeException);
    expect(session.get('a')).toBe('é'.repeat(6));
  });

  it('after a refused write, smaller writes still work', () => {
    const { session, context } = newSession(30);
    expect(() => session.set('a', 'x'.repeat(100))).toThrow(SessionDataTooLargeException);
    session.set('a', 'ok');
    expect(changesOf(context)).toEqual({ a: 'ok' });
  });

  it('uses the default limit of 8192 bytes given by the module', () => {
    const { session } = newSession(8192);
    session.set('a', 'x'.repeat(8192 - 8));
    expect(() => session.set('a', 'x'.repeat(8192 - 7))).toThrow(
      'Session data would be 8193 bytes, over the limit of 8192 bytes (maxDataSize).',
    );
  });
});

describe('Session: read-only properties', () => {
  it('a never-stored session is new and anonymous with no id or handle', () => {
    const { session } = newSession();
    expect(session.isNew).toBe(true);
    expect(session.id).toBeUndefined();
    expect(session.handle).toBeUndefined();
    expect(session.userId).toBeNull();
    expect(session.isAuthenticated).toBe(false);
    expect(session.createdAt).toBeUndefined();
    expect(session.authenticatedAt).toBeNull();
    expect(session.lastSeenAt).toBeUndefined();
  });

  it('R5 R7 a stored session exposes the hex SHA-256 of its token as id, never the token', () => {
    const { session, context } = newSession();
    const token = generateToken();
    const authenticatedAt = new Date(T0.getTime() + 1_000);
    const lastSeenAt = new Date(T0.getTime() + 2_000);
    context.adopt(
      token,
      record({ idHash: hashToken(token), userId: 'u1', authenticatedAt, lastSeenAt }),
    );
    expect(session.id).toBe(hashToken(token).toString('hex'));
    expect(session.id).not.toContain(token);
    expect(session.isNew).toBe(false);
    expect(session.handle).toBe('handle-1');
    expect(session.userId).toBe('u1');
    expect(session.isAuthenticated).toBe(true);
    expect(session.createdAt).toEqual(T0);
    expect(session.authenticatedAt).toEqual(authenticatedAt);
    expect(session.lastSeenAt).toEqual(lastSeenAt);
    expect(JSON.stringify(session)).not.toContain(token);
  });

  it('R10 an ended session reports no user', () => {
    const { session, context } = newSession();
    context.adopt(generateToken(), record({ userId: 'u1' }));
    context.end();
    expect(session.userId).toBeNull();
    expect(session.isAuthenticated).toBe(false);
  });

  it('contextOf finds the context of a session and refuses other objects', () => {
    const { session, context } = newSession();
    expect(contextOf(session)).toBe(context);
    expect(() => contextOf({} as Session<object>)).toThrow(TypeError);
  });
});

describe('SessionContext', () => {
  it('starts empty with nothing to do', () => {
    const loadedAt = new Date();
    const context = new SessionContext(loadedAt, () => ({ ip: '10.0.0.1', userAgent: 'ua' }), true);
    expect(context.loadedAt).toBe(loadedAt);
    expect(context.client).toEqual({ ip: '10.0.0.1', userAgent: 'ua' });
    expect(context.cookieSent).toBe(true);
    expect(context.token).toBeNull();
    expect(context.record).toBeNull();
    expect(context.data.size).toBe(0);
    expect(context.changes.size).toBe(0);
    expect(context.replaced).toBe(false);
    expect(context.ended).toBe(false);
    expect(context.cookie).toBeNull();
    expect(context.denial).toBeNull();
    expect(context.touchDue).toBe(false);
    expect(context.rotationDue).toBe(false);
    expect(context.hasChanges).toBe(false);
    expect(context.pendingChange()).toEqual({ replace: false, set: {}, remove: [] });
  });

  it('adopt without keepChanges takes the record data and drops pending changes', () => {
    const { session, context } = newSession();
    session.set('pending', 1);
    const token = generateToken();
    const stored = record({ data: { a: 1 } });
    context.end();
    context.adopt(token, stored);
    expect(context.token).toBe(token);
    expect(context.record).toBe(stored);
    expect(context.ended).toBe(false);
    expect(context.snapshot()).toEqual({ a: 1 });
    expect(context.hasChanges).toBe(false);
  });

  it('adopt with keepChanges re-applies pending writes and removals over the adopted data', () => {
    const { session, context } = newSession();
    context.adopt(generateToken(), record({ data: { a: 1, b: 2, c: 3 } }));
    session.set('a', 10);
    session.delete('b');
    session.set('d', 4);
    context.adopt(generateToken(), record({ data: { a: 100, b: 200, c: 300, e: 5 } }), true);
    expect(context.snapshot()).toEqual({ a: 10, c: 300, d: 4, e: 5 });
    expect(changesOf(context)).toEqual({ a: 10, b: undefined, d: 4 });
    expect(context.replaced).toBe(false);
    expect(context.pendingChange()).toEqual({
      replace: false,
      set: { a: 10, d: 4 },
      remove: ['b'],
    });
  });

  it('adopt with keepChanges after clear keeps the handler data and the replace flag', () => {
    const { session, context } = newSession();
    context.adopt(generateToken(), record({ data: { secret: 'user-1' } }));
    session.clear();
    session.set('fresh', true);
    context.adopt(generateToken(), record({ data: { secret: 'other', more: 1 } }), true);
    expect(context.replaced).toBe(true);
    expect(context.snapshot()).toEqual({ fresh: true });
    expect(context.pendingChange()).toEqual({ replace: true, set: { fresh: true }, remove: [] });
  });

  it('adopt without keepChanges after clear forgets the replace flag', () => {
    const { session, context } = newSession();
    context.adopt(generateToken(), record({ data: { a: 1 } }));
    session.clear();
    context.adopt(generateToken(), record({ data: { b: 2 } }));
    expect(context.replaced).toBe(false);
    expect(context.snapshot()).toEqual({ b: 2 });
  });

  it('adopt copies the record data: later sets do not change the record object', () => {
    const { session, context } = newSession();
    const stored = record({ data: { a: 1 } });
    context.adopt(generateToken(), stored);
    session.set('a', 2);
    session.set('b', 3);
    expect(stored.data).toEqual({ a: 1 });
  });

  it('reset forgets the session and everything pending', () => {
    const { session, context } = newSession();
    context.admit(generateToken(), record({ data: { a: 1 } }), {
      touchDue: true,
      rotationDue: true,
    });
    session.set('b', 2);
    expect(context.touchDue).toBe(true);
    expect(context.rotationDue).toBe(true);
    session.clear();
    context.reset();
    expect(context.token).toBeNull();
    expect(context.record).toBeNull();
    expect(context.data.size).toBe(0);
    expect(context.hasChanges).toBe(false);
    expect(context.replaced).toBe(false);
    expect(context.touchDue).toBe(false);
    expect(context.rotationDue).toBe(false);
    expect(session.isNew).toBe(true);
  });

  it('markPersisted takes the stored row and clears pending changes, keeping the data', () => {
    const { session, context } = newSession();
    session.set('a', 1);
    session.clear();
    session.set('b', 2);
    const stored = record({ data: { b: 2 } });
    context.markPersisted(stored);
    expect(context.record).toBe(stored);
    expect(context.hasChanges).toBe(false);
    expect(context.replaced).toBe(false);
    expect(context.snapshot()).toEqual({ b: 2 });
  });

  it('snapshot is a copy of the data', () => {
    const { session, context } = newSession();
    session.set('a', 1);
    const snapshot = context.snapshot();
    snapshot.a = 2;
    expect(session.get('a')).toBe(1);
  });
});

describe('Session: keys named like Object.prototype members', () => {
  it('a "__proto__" key is written as data, not as a prototype', () => {
    const { session, context } = newSession();
    session.set('__proto__', { a: 1 });
    const change = context.pendingChange();
    expect(Object.hasOwn(change.set, '__proto__')).toBe(true);
    expect(JSON.parse(JSON.stringify(change.set))).toEqual(JSON.parse('{"__proto__":{"a":1}}'));
    expect(Object.getPrototypeOf(change.set)).toBe(Object.prototype);
  });
});

describe('Session: update and read-then-set (R26)', () => {
  function stored(data: Record<string, JsonValue>) {
    const { session, context } = newSession();
    context.adopt(generateToken(), record({ data }));
    return { session, context };
  }

  it('update applies the change to the current value and returns it', () => {
    const { session } = stored({ cart: ['a'] });
    expect(session.update('cart', (cart) => [...((cart as string[]) ?? []), 'b'])).toEqual([
      'a',
      'b',
    ]);
    expect(session.get('cart')).toEqual(['a', 'b']);
  });

  it('an update is guarded by the value it started from and re-applied to a newer one', () => {
    const { session, context } = stored({ cart: ['a'], other: 1 });
    session.update('cart', (cart) => [...((cart as string[]) ?? []), 'b']);
    expect(context.dataGuard()).toEqual({ keys: ['cart'], expected: { cart: ['a'] } });
    context.adopt(context.token!, record({ data: { cart: ['a', 'x'], other: 2 } }), true);
    context.reapplyUpdates(() => undefined);
    expect(context.pendingChange().set).toEqual({ cart: ['a', 'x', 'b'] });
    expect(context.conflictsWith(record({ data: { cart: ['zzz'] } }))).toEqual([]);
  });

  it('an update of an absent key is guarded by its absence; undefined deletes', () => {
    const { session, context } = stored({ n: 1 });
    session.update('count', (count) => ((count as number) ?? 0) + 1);
    expect(context.dataGuard()).toEqual({ keys: ['count'], expected: {} });
    session.update('n', () => undefined);
    expect(session.has('n')).toBe(false);
    expect(context.pendingChange().remove).toEqual(['n']);
  });

  it('a key read and then set is guarded by the value read, and conflicts when it changed', () => {
    const { session, context } = stored({ note: 'v0' });
    expect(session.get('note')).toBe('v0');
    session.set('note', 'v1');
    expect(context.dataGuard()).toEqual({ keys: ['note'], expected: { note: 'v0' } });
    expect(context.conflictsWith(record({ data: { note: 'v0' } }))).toEqual([]);
    expect(context.conflictsWith(record({ data: { note: 'other' } }))).toEqual(['note']);
    expect(context.conflictsWith(record({ data: {} }))).toEqual(['note']);
  });

  it('a set without a read, or a read after the set, is a plain merge (no guard)', () => {
    const { session, context } = stored({ note: 'v0' });
    session.set('note', 'v1');
    expect(session.get('note')).toBe('v1');
    expect(context.dataGuard()).toBeNull();
  });

  it('a plain set after an update drops the update; an update after a plain set builds on it', () => {
    const { session, context } = stored({ cart: ['a'] });
    session.update('cart', (cart) => [...((cart as string[]) ?? []), 'b']);
    session.set('cart', ['fixed']);
    expect(context.dataGuard()).toBeNull();
    session.update('cart', (cart) => [...((cart as string[]) ?? []), 'c']);
    expect(context.dataGuard()).toBeNull();
    expect(session.get('cart')).toEqual(['fixed', 'c']);
  });

  it('after clear() nothing is guarded: the whole object is replaced', () => {
    const { session, context } = stored({ note: 'v0' });
    session.get('note');
    session.clear();
    session.set('note', 'v1');
    expect(context.dataGuard()).toBeNull();
  });
});
