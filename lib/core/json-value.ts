import { SessionDataError } from './errors';

/** A value that survives `JSON.stringify` / `JSON.parse` unchanged. */
export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * How many arrays and objects may enclose one another in a session value: `[]` and `{}` are
 * 1 deep, `{ "a": [1] }` is 2, a string or number 0. Deeper values are refused with an
 * {@link UnstorableSessionDataError}.
 *
 * Why 32: real session data (a cart, flags, a form draft) nests a handful of levels, so 32 leaves
 * ample room; it is the bound body-parser 2 puts on nested form bodies (`depth: 32`); and it
 * stays far below the depth at which the recursive code that handles the value after it is
 * stored (V8's `JSON.stringify`, class-transformer, an application's own tree walk) exhausts
 * the call stack, which a client-sent value of a few kilobytes nested thousands deep reaches.
 */
export const MAX_SESSION_DATA_DEPTH = 32;

/** The rules that plain JSON allows but session data does not; any client's JSON can break them. */
export type UnstorableSessionDataRule = 'nul' | 'unpaired_surrogate' | 'too_deep';

/**
 * A key or value that is valid JSON but that the session refuses to store:
 * - `nul`: a string or key containing U+0000, which PostgreSQL cannot hold in `text` or `jsonb`;
 * - `unpaired_surrogate`: a string or key that is not well-formed UTF-16 (a lone half of a
 *   surrogate pair, as `JSON.parse('"\\ud800"')` gives), which has no UTF-8 form and which
 *   `jsonb` refuses;
 * - `too_deep`: arrays and objects nested deeper than {@link MAX_SESSION_DATA_DEPTH}.
 *
 * Unlike the other {@link SessionDataError}s (a function, a Date, a cycle: mistakes in the
 * application's code), these come from what a client sent, so the HTTP layer answers them with
 * a 4xx, not a 500 or a store outage. The message names the path and the rule, never the value.
 *
 * @example
 * try {
 *   session.set('query', body.query);
 * } catch (error) {
 *   if (error instanceof UnstorableSessionDataError) console.log(error.rule, error.path);
 * }
 */
export class UnstorableSessionDataError extends SessionDataError {
  constructor(
    readonly rule: UnstorableSessionDataRule,
    /** Where the refused part is, for example `session value "cart"[0].sku`. */
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** NUL, a high surrogate not followed by a low one, or a low one not preceded by a high one. */
const UNSTORABLE_CHARACTER =
  /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A quick test for the characters `UNSTORABLE_CHARACTER` looks at (most strings pass it). */
const SUSPECT_CHARACTER = /[\0\uD800-\uDFFF]/;

/** Object keys written `.key` in a path; any other key is written `["key"]` (JSON-escaped). */
const PLAIN_KEY = /^[A-Za-z_$][\w$]*$/;

/** Longest key shown whole in a message; a longer one (a client's, perhaps) is cut. */
const SHOWN_KEY_LENGTH = 64;

/** `key` JSON-escaped and quoted, cut after {@link SHOWN_KEY_LENGTH} characters. */
function quoteKey(key: string): string {
  return JSON.stringify(key.length > SHOWN_KEY_LENGTH ? `${key.slice(0, SHOWN_KEY_LENGTH)}…` : key);
}

/**
 * Throws an {@link UnstorableSessionDataError} when `key` cannot be a top-level session key:
 * when it contains U+0000 or an unpaired UTF-16 surrogate (see the rules of that error). The
 * empty string is a valid key: JSON and `jsonb` store it like any other. The message shows the
 * key JSON-escaped and cut at 64 characters, so a hostile key cannot break or flood a log line.
 *
 * @example
 * assertSessionKey('cart'); // passes
 * assertSessionKey('a\u0000b'); // throws: session key "a\u0000b" contains U+0000 (NUL) at index 1; ...
 */
export function assertSessionKey(key: string): void {
  if (typeof key !== 'string') {
    throw new SessionDataError(`a session key must be a string, not a ${typeof key}`);
  }
  // The message's path is built only for a key `checkString` may refuse (most keys pass its
  // first test): it ran on every `set`.
  if (SUSPECT_CHARACTER.test(key)) checkString(key, null, `session key ${quoteKey(key)}`);
}

/**
 * Whether `value` is a scalar that {@link assertJsonValue} passes without looking further: a
 * boolean, `null`, a finite number, or a string without a character `checkString` examines.
 * Lets a caller skip building the path of a message it would never show.
 */
export function isPlainJsonScalar(value: unknown): boolean {
  switch (typeof value) {
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'string':
      return !SUSPECT_CHARACTER.test(value);
    default:
      return value === null;
  }
}

/**
 * Throws a {@link SessionDataError} naming the offending path unless `value` is plain JSON:
 * no `undefined`, functions, symbols, BigInts, non-finite numbers, class instances (Dates, Maps)
 * or cycles, which JSON would silently drop, change or refuse. Also throws an
 * {@link UnstorableSessionDataError} for valid JSON the session refuses: a string or object key
 * containing U+0000 or an unpaired surrogate, or nesting deeper than
 * {@link MAX_SESSION_DATA_DEPTH}.
 *
 * The walk uses an explicit stack, not recursion, so no value (however deep) can overflow the
 * call stack; the first problem met depth-first (an object's keys before its values) is reported.
 *
 * @example
 * assertJsonValue({ cart: [{ sku: 'A1', qty: 2 }] }, 'session value "order"'); // passes
 * assertJsonValue({ when: new Date() }, 'session value "order"');
 * // throws: session value "order".when is a Date; session data must be plain JSON objects ...
 */
export function assertJsonValue(value: unknown, path: string): asserts value is JsonValue {
  if (!isContainer(value, null, path)) return;
  // The containers from the root to the one being read, each with its place among its children.
  const stack: Frame[] = [enter(value as object, null, path, [])];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1];
    if (frame.next === frame.length) {
      stack.pop();
      continue;
    }
    const index = frame.next++;
    const key = frame.keys === null ? index : frame.keys[index];
    const child: unknown = (frame.value as Record<string | number, unknown>)[key];
    if (isContainer(child, frame, key)) stack.push(enter(child as object, frame, key, stack));
  }
}

/** One container being read: where it sits (for messages) and which child comes next. */
interface Frame {
  value: object;
  parent: Frame | null;
  /** The array index or object key under `parent`; the caller's path for the root. */
  key: string | number;
  /** An object's keys, in order; `null` for an array (its children are at 0 to length - 1). */
  keys: readonly string[] | null;
  length: number;
  /** The position of the next child to read. */
  next: number;
}

/**
 * Checks a container met under `parent` at `key` (whose ancestors are `stack`): not one of
 * them (a cycle), not too deep, a plain array or object with storable keys. Returns its frame.
 */
function enter(value: object, parent: Frame | null, key: string | number, stack: Frame[]): Frame {
  const frame: Frame = { value, parent, key, keys: null, length: 0, next: 0 };
  if (stack.some((ancestor) => ancestor.value === value)) {
    throw new SessionDataError(
      `${pathOf(frame)} refers back to itself; session data cannot contain cycles`,
    );
  }
  // `stack` holds the containers around this one: it is the (length + 1)th level.
  if (stack.length + 1 > MAX_SESSION_DATA_DEPTH) {
    const at = pathOf(frame);
    throw new UnstorableSessionDataError(
      'too_deep',
      at,
      `${at} nests arrays and objects more than ${MAX_SESSION_DATA_DEPTH} deep; session data ` +
        `may nest at most ${MAX_SESSION_DATA_DEPTH} (MAX_SESSION_DATA_DEPTH)`,
    );
  }
  if (Array.isArray(value)) {
    checkArray(value, frame);
    frame.length = value.length;
  } else {
    frame.keys = plainObjectKeys(value, frame);
    frame.length = frame.keys.length;
  }
  return frame;
}

/** The path of `key` under `parent` (or of `parent` itself), built only for a message. */
function pathOf(parent: Frame | null, key?: string | number): string {
  const parts: string[] = [];
  if (key !== undefined) parts.push(keyPart(parent, key));
  for (let at = parent; at; at = at.parent) parts.push(keyPart(at.parent, at.key));
  return parts.reverse().join('');
}

/** `.key`, `[0]` or `["odd key"]`; the root's key is the caller's path, as it is. */
function keyPart(parent: Frame | null, key: string | number): string {
  if (parent === null) return String(key);
  if (typeof key === 'number') return `[${key}]`;
  return PLAIN_KEY.test(key) ? `.${key}` : `[${quoteKey(key)}]`;
}

/**
 * Checks a value met under `parent` at `key` (the caller's path for the root): returns `false`
 * for a valid scalar, `true` for an array or object (to walk), and throws for anything JSON
 * cannot hold.
 */
function isContainer(value: unknown, parent: Frame | null, key: string | number): boolean {
  switch (typeof value) {
    case 'string':
      checkString(value, parent, key);
      return false;
    case 'boolean':
      return false;
    case 'number':
      if (Number.isFinite(value)) return false;
      throw new SessionDataError(
        `${pathOf(parent, key)} is ${value}; session data must be JSON (finite numbers only)`,
      );
    case 'object':
      return value !== null;
    default:
      throw new SessionDataError(
        `${pathOf(parent, key)} is a ${typeof value}; session data must be JSON (string, number, boolean, null, array, plain object)`,
      );
  }
}

/** Throws unless `value` is a plain array: no holes, no extra properties. */
function checkArray(value: unknown[], frame: Frame): void {
  if (Object.keys(value).length !== value.length) {
    throw new SessionDataError(
      `${pathOf(frame)} is an array with holes or extra properties; session data must be plain JSON arrays`,
    );
  }
}

/** The keys of a plain object, after checking that it is one and that its keys can be stored. */
function plainObjectKeys(value: object, frame: Frame): string[] {
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    const kind = value.constructor?.name ?? 'object';
    throw new SessionDataError(
      `${pathOf(frame)} is a ${kind}; session data must be plain JSON objects (convert it first, for example a Date to an ISO string)`,
    );
  }
  const keys = Object.keys(value);
  for (const key of keys) checkString(key, frame, key, 'key');
  return keys;
}

/**
 * Throws an {@link UnstorableSessionDataError} when `text`, the value (or with `as: 'key'`, the
 * object key) at `key` under `parent`, contains NUL or an unpaired surrogate. The path is built
 * only on failure.
 */
function checkString(
  text: string,
  parent: Frame | null,
  key: string | number,
  as: 'value' | 'key' = 'value',
): void {
  if (!SUSPECT_CHARACTER.test(text)) return;
  const match = UNSTORABLE_CHARACTER.exec(text);
  if (!match) return;
  const path = pathOf(parent, key);
  const subject = as === 'key' ? `the key ${quoteKey(String(key))} of ${pathOf(parent)}` : path;
  const code = match[0].charCodeAt(0);
  const unit = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  if (code === 0) {
    throw new UnstorableSessionDataError(
      'nul',
      path,
      `${subject} contains ${unit} (NUL) at index ${match.index}; session data cannot ` +
        `contain NUL, which PostgreSQL cannot store`,
    );
  }
  throw new UnstorableSessionDataError(
    'unpaired_surrogate',
    path,
    `${subject} contains ${unit} at index ${match.index}, an unpaired UTF-16 surrogate; ` +
      `session data must be well-formed Unicode`,
  );
}
