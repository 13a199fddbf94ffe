import { SessionDataError } from './errors';

/** A value that survives `JSON.stringify` / `JSON.parse` unchanged. */
export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * Throws a {@link SessionDataError} naming the offending path unless `value` is plain JSON:
 * no `undefined`, functions, symbols, BigInts, non-finite numbers, class instances (Dates, Maps)
 * or cycles, which JSON would silently drop, change or refuse.
 */
export function assertJsonValue(value: unknown, path: string): asserts value is JsonValue {
  checkJson(value, path, new Set());
}

function checkJson(value: unknown, path: string, ancestors: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (Number.isFinite(value)) return;
      throw new SessionDataError(
        `${path} is ${value}; session data must be JSON (finite numbers only)`,
      );
    case 'object':
      if (value === null) return;
      break;
    default:
      throw new SessionDataError(
        `${path} is a ${typeof value}; session data must be JSON (string, number, boolean, null, array, plain object)`,
      );
  }
  if (ancestors.has(value)) {
    throw new SessionDataError(`${path} refers back to itself; session data cannot contain cycles`);
  }
  ancestors.add(value);
  if (Array.isArray(value)) {
    if (Object.keys(value).length !== value.length) {
      throw new SessionDataError(
        `${path} is an array with holes or extra properties; session data must be plain JSON arrays`,
      );
    }
    value.forEach((item, index) => checkJson(item, `${path}[${index}]`, ancestors));
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const kind = (value as object).constructor?.name ?? 'object';
      throw new SessionDataError(
        `${path} is a ${kind}; session data must be plain JSON objects (convert it first, for example a Date to an ISO string)`,
      );
    }
    for (const [key, item] of Object.entries(value)) {
      checkJson(item, `${path}.${key}`, ancestors);
    }
  }
  ancestors.delete(value);
}
