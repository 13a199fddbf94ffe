/**
 * State the package keeps for one request (or response, or socket message), stored on that
 * object under a symbol of the package's own. Not a WeakMap keyed by the object: an entry per
 * request, whose key dies a few milliseconds later, is work for every garbage collection, and
 * the WeakMap of the request's session alone measured about a tenth of a cached read's CPU
 * (`npm run bench`); a property dies with its object. Symbol keys stay out of `Object.keys`,
 * `for...in` and `JSON.stringify`.
 */
export class RequestSlot<T> {
  private readonly key: symbol;

  constructor(name: string) {
    this.key = Symbol(`nest-session-security:${name}`);
  }

  /** What `carrier` holds, or `undefined`. */
  get(carrier: object): T | undefined {
    return (carrier as Record<symbol, T | undefined>)[this.key];
  }

  /** Whether a value (`null` included) was put on `carrier`. */
  has(carrier: object): boolean {
    return this.get(carrier) !== undefined;
  }

  /**
   * Puts `value` on `carrier`; `undefined` empties the slot (the property stays, set to
   * `undefined`: deleting it would make the object slower for the rest of its life).
   */
  set(carrier: object, value: T | undefined): void {
    (carrier as Record<symbol, T | undefined>)[this.key] = value;
  }
}
