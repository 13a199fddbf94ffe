import { inspect } from 'node:util';
import { RequestSlot } from './request-slot';

describe('RequestSlot', () => {
  it('keeps a value per object, apart from other slots and other objects', () => {
    const sessions = new RequestSlot<string>('a');
    const users = new RequestSlot<string>('a');
    const first = {};
    const second = {};
    sessions.set(first, 'one');
    users.set(first, 'two');
    expect(sessions.get(first)).toBe('one');
    expect(users.get(first)).toBe('two');
    expect(sessions.get(second)).toBeUndefined();
    expect(sessions.has(second)).toBe(false);
  });

  it('tells a null value from an empty slot, and empties it with undefined', () => {
    const slot = new RequestSlot<string | null>('user');
    const request = {};
    slot.set(request, null);
    expect(slot.has(request)).toBe(true);
    expect(slot.get(request)).toBeNull();
    slot.set(request, undefined);
    expect(slot.has(request)).toBe(false);
  });

  it('is never shown or copied with the object: keys, JSON, logging, spread, Object.assign', () => {
    const slot = new RequestSlot<{ secret: string }>('session');
    const request = { url: '/' };
    slot.set(request, { secret: 'kept-apart' });
    slot.set(request, { secret: 'kept-apart' });
    expect(Object.keys(request)).toEqual(['url']);
    expect(JSON.stringify(request)).toBe('{"url":"/"}');
    expect(inspect(request, { showHidden: false, depth: 5 })).not.toContain('kept-apart');
    expect(slot.get({ ...request })).toBeUndefined();
    expect(slot.get(Object.assign({}, request))).toBeUndefined();
    expect(slot.get(request)).toEqual({ secret: 'kept-apart' });
  });

  it('belongs to the object itself: an object made from it does not inherit the value', () => {
    const slot = new RequestSlot<string>('session');
    const request = {};
    slot.set(request, 'mine');
    const derived = Object.create(request) as object;
    expect(slot.get(derived)).toBeUndefined();
    expect(slot.has(derived)).toBe(false);
    slot.set(derived, 'its own');
    expect(slot.get(derived)).toBe('its own');
    expect(slot.get(request)).toBe('mine');
  });

  it('reserves an empty, hidden property that a later set fills in place', () => {
    const slot = new RequestSlot<string>('session');
    const request = { url: '/' };
    slot.reserve(request);
    expect(slot.has(request)).toBe(false);
    expect(slot.get(request)).toBeUndefined();
    const [key] = Object.getOwnPropertySymbols(request);
    expect(key?.description).toBe('nest-session-security:session');
    slot.set(request, 'mine');
    slot.reserve(request); // reserving again keeps what is there
    expect(slot.get(request)).toBe('mine');
    expect(Object.getOwnPropertySymbols(request)).toEqual([key]);
    expect(Object.keys(request)).toEqual(['url']);
    expect(Object.getOwnPropertyDescriptor(request, key)?.enumerable).toBe(false);
  });
});
