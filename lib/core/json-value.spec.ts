import { SessionDataError, SessionModuleError } from './errors';
import {
  assertJsonValue,
  assertSessionKey,
  MAX_SESSION_DATA_DEPTH,
  UnstorableSessionDataError,
} from './json-value';

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

  it('a deep but acyclic structure, up to the depth limit', () => {
    let value: unknown = 'leaf';
    for (let depth = 0; depth < MAX_SESSION_DATA_DEPTH / 2; depth++) value = { next: [value] };
    expect(() => assertJsonValue(value, PATH)).not.toThrow();
  });

  it('well-formed Unicode: emoji (surrogate pairs), CJK, combining marks, other control characters', () => {
    const value = {
      '😀': 'a😀b',
      日本: ['e\u0301', '\u0001\u001f\u007f\n\t', '\ud83d\ude00', '\uffff', '\ufffd'],
      '': 'the empty key',
    };
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

/** The UnstorableSessionDataError thrown for `value`, failing when none is thrown. */
function refusal(run: () => void): UnstorableSessionDataError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UnstorableSessionDataError);
    expect(error).toBeInstanceOf(SessionDataError);
    return error as UnstorableSessionDataError;
  }
  throw new Error('expected an UnstorableSessionDataError');
}

/** A value of `depth` nested arrays and objects around a string. */
function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let level = 0; level < depth; level++) value = level % 2 ? [value] : { a: value };
  return value;
}

describe('assertJsonValue refuses JSON that PostgreSQL cannot store (NUL, unpaired surrogates)', () => {
  it.each([
    ['NUL alone', '\u0000', 0],
    ['NUL inside', 'a\u0000b', 1],
    ['NUL at the end', 'abc\u0000', 3],
  ])('issue 12 §2: %s in a string: rule nul, path and index named', (_label, text, index) => {
    const error = refusal(() => assertJsonValue({ q: [text] }, PATH));
    expect(error.rule).toBe('nul');
    expect(error.path).toBe(`${PATH}.q[0]`);
    expect(error.message).toBe(
      `${PATH}.q[0] contains U+0000 (NUL) at index ${index}; session data cannot contain NUL, which PostgreSQL cannot store`,
    );
  });

  it.each([
    ['a lone high surrogate', 'a\ud800b', 'U+D800', 1],
    ['a lone high surrogate at the end', 'ab\udbff', 'U+DBFF', 2],
    ['a lone low surrogate', '\udc00z', 'U+DC00', 0],
    ['a low surrogate before its high one', '\ude00\ud83d', 'U+DE00', 0],
    ['two high surrogates', '\ud83d\ud83d\ude00', 'U+D83D', 0],
    ['half of an emoji cut off', '😀'.slice(0, 1), 'U+D83D', 0],
  ])(
    'issue 12 §2: %s: rule unpaired_surrogate, path and code unit named',
    (_label, text, unit, index) => {
      const error = refusal(() => assertJsonValue(text, PATH));
      expect(error.rule).toBe('unpaired_surrogate');
      expect(error.path).toBe(PATH);
      expect(error.message).toBe(
        `${PATH} contains ${unit} at index ${index}, an unpaired UTF-16 surrogate; session data must be well-formed Unicode`,
      );
    },
  );

  it('issue 12 §2: what JSON.parse makes of "\\u0000" and "\\ud800" from a request body is refused', () => {
    const body: unknown = JSON.parse('{"ok": "fine", "bad": ["x", {"y": "a\\u0000"}]}');
    expect(refusal(() => assertJsonValue(body, PATH)).path).toBe(`${PATH}.bad[1].y`);
    const lone: unknown = JSON.parse('["\\ud800"]');
    expect(refusal(() => assertJsonValue(lone, PATH)).rule).toBe('unpaired_surrogate');
  });

  it('issue 12 §2: a NUL or a lone surrogate in an object key: the key is named JSON-escaped', () => {
    const nul = refusal(() => assertJsonValue({ a: { 'k\u0000': 1 } }, PATH));
    expect(nul.rule).toBe('nul');
    expect(nul.path).toBe(`${PATH}.a["k\\u0000"]`);
    expect(nul.message).toBe(
      `the key "k\\u0000" of ${PATH}.a contains U+0000 (NUL) at index 1; session data cannot contain NUL, which PostgreSQL cannot store`,
    );
    const lone = refusal(() => assertJsonValue([{ '\udfff': 1 }], PATH));
    expect(lone.rule).toBe('unpaired_surrogate');
    expect(lone.path).toBe(`${PATH}[0]["\\udfff"]`);
    expect(lone.message).not.toMatch(/[\0\ud800-\udfff]/);
  });

  it('the message never contains the refused characters or the rest of the value', () => {
    const error = refusal(() => assertJsonValue({ q: 'secret-part\u0000\n<script>' }, PATH));
    expect(error.message).not.toContain('secret-part');
    expect(error.message).not.toContain('\u0000');
  });

  it('names an odd but valid key in brackets on the way to the problem', () => {
    const error = refusal(() => assertJsonValue({ 'two words': { 'a.b': '\u0000' } }, PATH));
    expect(error.path).toBe(`${PATH}["two words"]["a.b"]`);
  });
});

describe('assertJsonValue limits nesting to MAX_SESSION_DATA_DEPTH, without recursion', () => {
  it('issue 12 §2: the documented limit is 32', () => {
    expect(MAX_SESSION_DATA_DEPTH).toBe(32);
  });

  it('issue 12 §2: exactly MAX_SESSION_DATA_DEPTH nested arrays and objects are accepted', () => {
    expect(() => assertJsonValue(nested(MAX_SESSION_DATA_DEPTH), PATH)).not.toThrow();
  });

  it('issue 12 §2: one level more is refused: rule too_deep, naming the path of the 33rd container', () => {
    const error = refusal(() => assertJsonValue(nested(MAX_SESSION_DATA_DEPTH + 1), PATH));
    expect(error.rule).toBe('too_deep');
    // 32 containers enclose the refused one: 16 objects (".a") and 16 arrays ("[0]").
    expect(error.path).toBe(PATH + '.a[0]'.repeat(16));
    expect(error.message).toBe(
      `${error.path} nests arrays and objects more than 32 deep; session data may nest at most 32 (MAX_SESSION_DATA_DEPTH)`,
    );
  });

  it('issue 12 §2: an empty array or object one level too deep counts as a level', () => {
    let value: unknown = [];
    for (let level = 1; level <= MAX_SESSION_DATA_DEPTH; level++) value = [value];
    expect(refusal(() => assertJsonValue(value, PATH)).rule).toBe('too_deep');
  });

  it.each([3_000, 100_000])(
    'issue 12 §2: a value %i deep is refused with a SessionDataError, not a stack overflow',
    (depth) => {
      expect(refusal(() => assertJsonValue(nested(depth), PATH)).rule).toBe('too_deep');
      // As a client would send it: JSON text parsed by JSON.parse (which does not recurse).
      const text = '['.repeat(depth) + ']'.repeat(depth);
      expect(refusal(() => assertJsonValue(JSON.parse(text), PATH)).rule).toBe('too_deep');
    },
  );

  it('a deep cycle is still reported as a cycle, where it closes', () => {
    const root: Record<string, unknown> = {};
    let at = root;
    for (let level = 0; level < 10; level++) at = (at.n = {}) as Record<string, unknown>;
    at.back = root;
    expect(rejection(root)).toBe(
      `${PATH}${'.n'.repeat(10)}.back refers back to itself; session data cannot contain cycles`,
    );
  });

  it('a wide value is not limited (only depth is): 50,000 siblings pass', () => {
    const wide = Array.from({ length: 50_000 }, (_, index) => ({ index, tags: ['a', 'b'] }));
    expect(() => assertJsonValue(wide, PATH)).not.toThrow();
  });

  it('reports the first problem depth-first, as the recursive walk did', () => {
    expect(rejection({ a: [1, { b: undefined }], c: 'x\u0000' })).toMatch(
      /^session value "x"\.a\[1\]\.b is a undefined/,
    );
    expect(rejection({ a: ['x\u0000'], c: undefined })).toMatch(
      /^session value "x"\.a\[0\] contains/,
    );
  });
});

describe('assertSessionKey', () => {
  it.each([
    'cart',
    '',
    ' ',
    'a.b',
    'two words',
    '😀',
    'line\nbreak',
    '__proto__',
    'x'.repeat(1000),
  ])('accepts %j (the store holds any well-formed key, the empty one too)', (key) => {
    expect(() => assertSessionKey(key)).not.toThrow();
  });

  it('issue 12 §2: refuses a key with NUL, naming it JSON-escaped', () => {
    const error = refusal(() => assertSessionKey('a\u0000b'));
    expect(error.rule).toBe('nul');
    expect(error.path).toBe('session key "a\\u0000b"');
    expect(error.message).toBe(
      'session key "a\\u0000b" contains U+0000 (NUL) at index 1; session data cannot contain NUL, which PostgreSQL cannot store',
    );
  });

  it.each(['\ud800', 'a\udc00', '😀'.slice(1)])(
    'issue 12 §2: refuses the key %j (an unpaired surrogate)',
    (key) => {
      const error = refusal(() => assertSessionKey(key));
      expect(error.rule).toBe('unpaired_surrogate');
      expect(error.message).not.toMatch(/[\ud800-\udfff]/);
    },
  );

  it('a long key is cut to 64 characters in the message and the path', () => {
    const key = 'k'.repeat(10_000) + '\u0000';
    const error = refusal(() => assertSessionKey(key));
    expect(error.path).toBe(`session key "${'k'.repeat(64)}…"`);
    expect(error.message.length).toBeLessThan(250);
    const nested = refusal(() => assertJsonValue({ [key]: 1 }, PATH));
    expect(nested.path).toBe(`${PATH}["${'k'.repeat(64)}…"]`);
  });

  it('refuses a non-string key from JavaScript callers as a programming mistake', () => {
    expect(() => assertSessionKey(1 as unknown as string)).toThrow(SessionDataError);
    expect(() => assertSessionKey(1 as unknown as string)).not.toThrow(UnstorableSessionDataError);
  });
});
