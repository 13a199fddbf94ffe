import { crossesAuthentication, judgeObsoleteUse, RegenerationPurpose } from './obsolete-id-policy';

const SECOND = 1000;
const T0 = new Date('2030-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const timings = { obsoleteGracePeriod: 60 * SECOND, obsoleteInFlightLeeway: 5 * SECOND };
const retired = (obsoletedBy: RegenerationPurpose | null) => ({ obsoletedAt: T0, obsoletedBy });

describe('crossesAuthentication', () => {
  it.each<[RegenerationPurpose | null, boolean]>([
    ['login', true],
    ['restore', true],
    [null, true],
    ['privilege', false],
    ['rotation', false],
  ])('R21 %s crosses an authentication boundary: %s', (purpose, crosses) => {
    expect(crossesAuthentication(purpose)).toBe(crosses);
  });
});

describe('judgeObsoleteUse', () => {
  it.each<RegenerationPurpose | null>(['login', 'restore', null])(
    'R21 an ID retired by %s is answered as anonymous within grace, whatever the successor did',
    (purpose) => {
      expect(judgeObsoleteUse(retired(purpose), null, at(SECOND), timings)).toBe('anonymous');
      expect(judgeObsoleteUse(retired(purpose), at(0), at(59 * SECOND), timings)).toBe('anonymous');
    },
  );

  it.each<RegenerationPurpose | null>(['login', 'restore', 'privilege', 'rotation', null])(
    'R3 an ID retired by %s gets the attack response exactly at the end of the grace period',
    (purpose) => {
      expect(judgeObsoleteUse(retired(purpose), null, at(60 * SECOND), timings)).toBe('attack');
    },
  );

  it('R3 a rotated ID is forwarded while nobody presented the successor (lost Set-Cookie)', () => {
    expect(judgeObsoleteUse(retired('rotation'), null, at(59 * SECOND), timings)).toBe('forward');
  });

  it('R21 a rotated ID is forwarded for the in-flight leeway after the successor was presented', () => {
    const presented = at(10 * SECOND);
    expect(judgeObsoleteUse(retired('rotation'), presented, at(15 * SECOND - 1), timings)).toBe(
      'forward',
    );
    expect(judgeObsoleteUse(retired('privilege'), presented, at(15 * SECOND), timings)).toBe(
      'attack',
    );
  });

  it('R21 with a leeway of 0 an ID whose successor is in use is never forwarded', () => {
    const strict = { ...timings, obsoleteInFlightLeeway: 0 };
    expect(judgeObsoleteUse(retired('rotation'), at(SECOND), at(SECOND), strict)).toBe('attack');
  });
});
