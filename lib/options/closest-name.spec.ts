import { closestName, editDistance } from './closest-name';

describe('editDistance', () => {
  it.each([
    ['idleTimeout', 'idleTimeout', 0],
    ['idleTimout', 'idleTimeout', 1],
    ['samesite', 'sameSite', 0],
    ['absoulteTimeout', 'absoluteTimeout', 1],
    ['', 'path', 4],
    ['secure', 'csrf', 4],
  ])('%j to %j is %i', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });
});

describe('closestName', () => {
  const options = ['idleTimeout', 'absoluteTimeout', 'touchInterval', 'csrf', 'cookie'];

  it('names the closest candidate within a third of its length', () => {
    expect(closestName('idleTimout', options)).toBe('idleTimeout');
    expect(closestName('IDLETIMEOUT', options)).toBe('idleTimeout');
  });

  it('allows one edit on short names', () => {
    expect(closestName('csrd', options)).toBe('csrf');
    expect(closestName('cookies', options)).toBe('cookie');
  });

  it('names nothing when no candidate is close', () => {
    expect(closestName('timeout', options)).toBeUndefined();
    expect(closestName('store', options)).toBeUndefined();
  });
});
