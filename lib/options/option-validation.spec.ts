import { duration, flag, integer, nested } from './option-kinds';
import { resolveTable } from './option-rule';
import { optionSchema, validateOptions } from './option-validation';

/** A small table of each kind of row, independent of the module's options. */
const TABLE = {
  wait: duration({ default: '1m', positive: true, max: '1h' }),
  on: flag({ default: true }),
  limit: integer({}),
  inner: nested({ every: duration({ default: '5s', off: true }) }),
};
const SCHEMA = optionSchema(TABLE);

describe('option table: validation and resolution derived from the rows', () => {
  it('parses a valid duration once, into the milliseconds that resolve', () => {
    const { problems, valid } = validateOptions(
      { wait: '2m', inner: { every: false } },
      TABLE,
      SCHEMA,
    );
    expect(problems).toEqual([]);
    expect(valid).toEqual({ wait: 120_000, inner: { every: false } });
    expect(resolveTable(TABLE, valid)).toEqual({
      wait: 120_000,
      on: true,
      limit: null,
      inner: { every: 0 },
    });
  });

  it('lists one message per refused value, nested ones under their path', () => {
    const { problems, invalid } = validateOptions(
      { wait: '2h', on: 'yes', limit: 0, inner: { every: 'soon' } },
      TABLE,
      SCHEMA,
    );
    expect(problems).toEqual([
      `wait: wait must be a positive duration: a non-negative integer of milliseconds or a string such as "90s", "30m", "12h", "1d", at most '1h'`,
      'on: on must be true or false',
      'limit: limit must be a positive integer',
      'inner.every: every must be a non-negative integer of milliseconds or a string such as "90s", "30m", "12h", "1d", or false',
    ]);
    expect([...invalid]).toEqual(['wait', 'on', 'limit', 'inner.every']);
  });

  it('leaves refused values out of the valid ones, so that they resolve to their defaults', () => {
    const { valid } = validateOptions({ wait: 0, on: false, inner: 'x' }, TABLE, SCHEMA);
    expect(valid).toEqual({ on: false });
    expect(resolveTable(TABLE, valid)).toEqual({
      wait: 60_000,
      on: false,
      limit: null,
      inner: { every: 5_000 },
    });
  });

  it('never assigns a key that is not a row (unknown keys are reported elsewhere)', () => {
    const given = JSON.parse('{"__proto__": {"on": "x"}, "constructor": 1, "on": true}');
    const { problems, valid } = validateOptions(given, TABLE, SCHEMA);
    expect(problems).toEqual([]);
    expect(valid).toEqual({ on: true });
  });
});
