import { SessionDataError, SessionModuleError } from './errors';
import { assertJsonValue } from './json-value';

const PATH = 'session value "x"';

/** The message of the SessionDataError thrown for `value`, failing when none is thrown. */
function rejection(value: unknown, path = PATH): string {
  try {
    assertJsonValue(value, path);
  } catch (error) {
    expect(error).toBeInstanceOf(SessionDataError);
    expect(error).toBeInstanceOf(SessionModuleError);
    return (error as Error).message;
  }
  throw new Error('expected assertJsonValue to throw');
}

describe('assertJsonValue accepts plain JSON', () => {
  it.each([
    ['a string', 'hello'],
    ['the empty string', ''],
    ['an integer', 42],
    ['zero', 0],
    ['a negative fraction', -1.25],
    ['the largest double', Number.MAX_VALUE],
    ['true', true],
    ['false', false],
    ['null', null],
    ['an empty array', []],
    ['an empty object', {}],
  ])('%s', (_label, value) => {
    expect(() => assertJsonValue(value, PATH)).not.toThrow();
  });

  it('nested objects and arrays', () => {
    const value = {
      user: { id: 'u1', roles: ['admin', 'user'], flags: { beta: true, score: 1.5 } },
      cart: [{ sku: 'A', qty: 2, note: null }, [[[]]], []],
    };
    expect(() => assertJsonValue(value, PATH)).not.toThrow();
  });

  it('an object with a null prototype', () => {
    const value = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    expect(() => assertJsonValue({ nested: value }, PATH)).not.toThrow();
  });

  it('a key named "__proto__" created by JSON.parse', () => {
    const value: unknown = JSON.parse('{"__proto__": {"admin": true}, "a": [1]}');
    expect(Object.keys(value as object)).toContain('__proto__');
    expect(() => assertJsonValue(value, PATH)).not.toThrow();
  });

  it('a key named "__proto__" is checked like any other key', () => {
    const value = JSON.parse('{"__proto__": {"bad": 1}}') as Record<
      string,
      Record<string, unknown>
    >;
    value['__proto__']['bad'] = undefined;
    expect(rejection(value)).toContain(`${PATH}.__proto__.bad is a undefined`);
  });

  it('keys named "constructor" and "toString" holding plain data', () => {
    expect(() => assertJsonValue({ constructor: 'x', toString: [1] }, PATH)).not.toThrow();
  });

  it('the same object referenced twice (shared, not cyclic)', () => {
    const shared = { a: [1, 2] };
    const value = { first: shared, second: shared, list: [shared, shared] };
    expect(() => assertJsonValue(value, PATH)).not.toThrow();
  });

  it('the same array referenced at two depths', () => {
    const shared = [1, 2];
    expect(() => assertJsonValue([shared, { deeper: [shared] }], PATH)).not.toThrow();
  });

  it('a deep but acyclic structure', () => {
    let value: unknown = 'leaf';
    for (let depth = 0; depth < 500; depth++) value = { next: [value] };
    expect(() => assertJsonValue(value, PATH)).not.toThrow();
  });
});

describe('assertJsonValue rejects what JSON would drop, change or refuse', () => {
  it('undefined at the top level', () => {
    expect(rejection(undefined)).toBe(
      `${PATH} is a undefined; session data must be JSON (string, number, boolean, null, array, plain object)`,
    );
  });

  it('undefined as an object value, naming the path', () => {
    expect(rejection({ a: [0, { b: undefined }] })).toMatch(
      /^session value "x"\.a\[1\]\.b is a undefined;/,
    );
  });

  it('undefined inside an array', () => {
    expect(rejection([1, undefined])).toMatch(/^session value "x"\[1\] is a undefined;/);
  });

  it('a function', () => {
    expect(rejection({ a: [0, { b: () => 1 }] })).toMatch(
      /^session value "x"\.a\[1\]\.b is a function;/,
    );
  });

  it('a symbol', () => {
    expect(rejection({ s: Symbol('s') })).toMatch(/^session value "x"\.s is a symbol;/);
  });

  it('a bigint', () => {
    expect(rejection({ n: BigInt(1) })).toMatch(/^session value "x"\.n is a bigint;/);
  });

  it.each([
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
  ])('%s', (label, number) => {
    expect(rejection({ a: [0, { b: number }] })).toBe(
      `${PATH}.a[1].b is ${label}; session data must be JSON (finite numbers only)`,
    );
  });

  it('a Date, suggesting an ISO string', () => {
    const message = rejection({ a: [0, { b: new Date(0) }] });
    expect(message).toMatch(/^session value "x"\.a\[1\]\.b is a Date;/);
    expect(message).toContain('ISO string');
  });

  it('a Map', () => {
    expect(rejection({ m: new Map([['a', 1]]) })).toMatch(/^session value "x"\.m is a Map;/);
  });

  it('a Set', () => {
    expect(rejection([new Set([1])])).toMatch(/^session value "x"\[0\] is a Set;/);
  });

  it('a class instance', () => {
    class Cart {
      items = [];
    }
    expect(rejection({ cart: new Cart() })).toMatch(/^session value "x"\.cart is a Cart;/);
  });

  it('an object inheriting from another plain object', () => {
    const child = Object.create({ inherited: 1 }) as object;
    expect(rejection({ child })).toMatch(/^session value "x"\.child is a Object;/);
  });

  it('boxed primitives', () => {
    expect(rejection(Object('s'))).toMatch(/^session value "x" is a String;/);
    expect(rejection(Object(1))).toMatch(/^session value "x" is a Number;/);
    expect(rejection(Object(true))).toMatch(/^session value "x" is a Boolean;/);
  });

  it('a RegExp, an Error, a Buffer and a typed array', () => {
    expect(rejection(/x/)).toMatch(/is a RegExp;/);
    expect(rejection(new Error('e'))).toMatch(/is a Error;/);
    expect(rejection(Buffer.from('x'))).toMatch(/is a Buffer;/);
    expect(rejection(new Uint8Array(1))).toMatch(/is a Uint8Array;/);
  });

  it('a direct cycle in an object', () => {
    const value: Record<string, unknown> = {};
    value.self = value;
    expect(rejection(value)).toBe(
      `${PATH}.self refers back to itself; session data cannot contain cycles`,
    );
  });

  it('a direct cycle in an array', () => {
    const value: unknown[] = [];
    value.push(value);
    expect(rejection(value)).toMatch(/^session value "x"\[0\] refers back to itself;/);
  });

  it('a deep cycle, naming the path where it closes', () => {
    const root: Record<string, unknown> = { a: [0, { b: {} }] };
    ((root.a as unknown[])[1] as { b: Record<string, unknown> }).b.back = root;
    expect(rejection(root)).toMatch(/^session value "x"\.a\[1\]\.b\.back refers back to itself;/);
  });

  it('a cycle through a shared object reached a second time', () => {
    const inner: Record<string, unknown> = {};
    const outer = { first: inner, second: inner };
    inner.loop = outer;
    expect(rejection(outer)).toMatch(/^session value "x"\.first\.loop refers back to itself;/);
  });

  it('uses the path it is given', () => {
    expect(rejection(undefined, 'session value "cart"')).toMatch(/^session value "cart" is a/);
  });
});

describe('assertJsonValue rejects arrays JSON would change', () => {
  it.each([
    // eslint-disable-next-line no-sparse-arrays -- the hole is the point of the test
    ['an array with holes', [1, , 3]],
    ['a pre-sized empty array', new Array(3)],
    ['an array with an extra property', Object.assign([1], { extra: 'x' })],
  ])('%s', (_, value) => {
    expect(() => assertJsonValue(value, 'v')).toThrow(SessionDataError);
  });
});
