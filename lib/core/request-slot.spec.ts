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

  it('stays out of the keys and the JSON of the object', () => {
    const slot = new RequestSlot<{ secret: string }>('session');
    const request = { url: '/' };
    slot.set(request, { secret: 'x' });
    expect(Object.keys(request)).toEqual(['url']);
    expect(JSON.stringify(request)).toBe('{"url":"/"}');
  });
});
