/**
 * A value now, or later. The request path returns one where the usual case needs no waiting
 * (a session the cache holds): every promise and `await` there is an allocation and a turn of
 * the microtask queue, measured as a share of the package's cost per request.
 */
export type MaybePromise<T> = T | Promise<T>;

/** `next(value)`, at once when `value` is at hand, after it resolves when it is a promise. */
export function andThen<T, U>(
  value: MaybePromise<T>,
  next: (value: T) => MaybePromise<U>,
): MaybePromise<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}
