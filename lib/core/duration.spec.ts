import { parseDuration, tryParseDuration } from './duration';
import { SessionModuleError, SessionOptionsError } from './errors';

describe('tryParseDuration: numbers are milliseconds', () => {
  it.each([
    [0, 0],
    [1, 1],
    [1_500, 1_500],
    [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  ])('accepts %p as %p ms', (input, expected) => {
    expect(tryParseDuration(input)).toBe(expected);
  });

  it.each([
    ['a negative number', -1],
    ['a negative fraction', -0.5],
    ['a fraction', 1.5],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['an unsafe integer', Number.MAX_SAFE_INTEGER + 1],
    ['a huge number', 1e300],
  ])('rejects %s', (_label, input) => {
    expect(tryParseDuration(input)).toBeUndefined();
  });
});

describe('tryParseDuration: strings carry a unit', () => {
  it.each([
    ['500ms', 500],
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['12h', 43_200_000],
    ['1d', 86_400_000],
    ['30d', 2_592_000_000],
    ['0ms', 0],
    ['0s', 0],
    ['0m', 0],
    [' 30m ', 1_800_000],
    ['\t60s\n', 60_000],
    ['007s', 7_000],
  ])('accepts %j as %p ms', (input, expected) => {
    expect(tryParseDuration(input)).toBe(expected);
  });

  it.each([
    ['a bare number without unit', '30'],
    ['a bare zero without unit', '0'],
    ['a negative duration', '-5m'],
    ['a fractional duration', '1.5h'],
    ['an unknown unit', '30x'],
    ['an upper-case unit', '30M'],
    ['a spelled-out unit', '30 minutes'],
    ['a space between number and unit', '30 m'],
    ['two durations', '1h30m'],
    ['an exponent', '1e3ms'],
    ['a plus sign', '+5m'],
    ['the empty string', ''],
    ['only spaces', '   '],
    ['a unit without number', 'ms'],
    ['non-ASCII digits', '\u0663\u0660m'],
    ['a duration whose milliseconds are not a safe integer', '9007199254740992ms'],
    ['a day count whose milliseconds are not a safe integer', '104249992d'],
  ])('rejects %s (%j)', (_label, input) => {
    expect(tryParseDuration(input)).toBeUndefined();
  });

  it('accepts the largest day count whose milliseconds are still a safe integer', () => {
    expect(tryParseDuration('104249991d')).toBe(104_249_991 * 86_400_000);
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['true', true],
    ['false', false],
    ['an object', { ms: 5 }],
    ['an array', [5]],
    ['a bigint', BigInt(5)],
    ['a boxed string', Object('30m')],
    ['a boxed number', Object(5)],
    ['a Date', new Date(0)],
  ])('rejects a non-string, non-number: %s', (_label, input) => {
    expect(tryParseDuration(input)).toBeUndefined();
  });
});

describe('parseDuration', () => {
  it('returns the milliseconds of a valid duration', () => {
    expect(parseDuration('30m', 'idleTimeout')).toBe(1_800_000);
    expect(parseDuration(250, 'idleTimeout')).toBe(250);
  });

  it('throws a SessionOptionsError naming the option and the value', () => {
    let error: unknown;
    try {
      parseDuration('30x', 'idleTimeout');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SessionOptionsError);
    expect(error).toBeInstanceOf(SessionModuleError);
    expect((error as Error).name).toBe('SessionOptionsError');
    expect((error as Error).message).toMatch(/^idleTimeout must be a duration/);
    expect((error as Error).message).toContain('"30x"');
  });

  it.each([-1, 1.5, NaN, '', '30', '-5m'])('throws for %p', (input) => {
    expect(() => parseDuration(input, 'absoluteTimeout')).toThrow(SessionOptionsError);
    expect(() => parseDuration(input, 'absoluteTimeout')).toThrow(/absoluteTimeout/);
  });

  it('names whatever option it is given', () => {
    expect(() => parseDuration('soon', 'obsoleteGracePeriod')).toThrow(
      /^obsoleteGracePeriod must be a duration: a non-negative integer of milliseconds/,
    );
  });
});
