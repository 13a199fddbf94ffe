import {
  formatRememberMeCookie,
  generateSelector,
  generateValidator,
  hashValidator,
  parseRememberMeCookie,
  validatorMatches,
} from './remember-me-token';

describe('remember-me cookie values', () => {
  const selector = generateSelector();
  const validator = generateValidator();
  const value = formatRememberMeCookie({ selector, validator });

  it('R14 a value is selector.validator with 96 and 256 random bits', () => {
    expect(value).toMatch(/^[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/);
    expect(parseRememberMeCookie(value)).toEqual({ selector, validator });
  });

  it('selectors and validators are unique', () => {
    expect(new Set(Array.from({ length: 1000 }, generateSelector)).size).toBe(1000);
    expect(new Set(Array.from({ length: 1000 }, generateValidator)).size).toBe(1000);
  });

  it.each([
    ['empty', ''],
    ['no dot', value.replace('.', '')],
    ['two dots', `${value}.x`],
    ['short validator', value.slice(0, -1)],
    ['long selector', `A${value}`],
    ['non-canonical validator', `${value.slice(0, -1)}B`],
    ['padding', `${selector}.${validator.slice(0, 42)}=`],
    ['quoted', `"${value}"`],
    ['SQL', `' OR 1=1 --.${validator}`],
    ['spaces', ` ${value}`],
  ])('R14 R16 a %s value is malformed', (_, bad) => {
    expect(parseRememberMeCookie(bad)).toBeNull();
  });

  it('R14 validators are compared with their SHA-256 in constant time', () => {
    expect(validatorMatches(validator, hashValidator(validator))).toBe(true);
    expect(validatorMatches(generateValidator(), hashValidator(validator))).toBe(false);
    expect(validatorMatches(validator, null)).toBe(false);
    expect(validatorMatches(validator, Buffer.alloc(5))).toBe(false);
  });
});
