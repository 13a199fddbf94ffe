/**
 * State the package keeps for one request (or response, or socket message), stored on that
 * object under a symbol of the package's own. Not a WeakMap keyed by the object: an entry per
 * request, whose key dies a few milliseconds later, is work for every garbage collection, and
 * the WeakMap of the request's session alone measured about a tenth of a cached read's CPU
 * (`npm run bench`); a property dies with its object. The property is not enumerable: logging
 * the request (`util.inspect`, Nest's logger), spreading it or `Object.assign` never shows or
 * copies the session, as with the WeakMap; only `Reflect.ownKeys` and
 * `Object.getOwnPropertySymbols` list it.
 */
export class RequestSlot<T> {
  private readonly key: symbol;

  constructor(name: string) {
    this.key = Symbol(`nest-session-security:${name}`);
  }

  /** What `carrier` itself holds (never what an object it inherits from holds), or `undefined`. */
  get(carrier: object): T | undefined {
    return this.isOn(carrier) ? (carrier as Record<symbol, T | undefined>)[this.key] : undefined;
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
    if (this.isOn(carrier)) {
      (carrier as Record<symbol, T | undefined>)[this.key] = value;
      return;
    }
    this.define(carrier, value);
  }

  /**
   * Gives `carrier` the (empty) property now, so that a later {@link set} is a plain store.
   * For objects that will change shape: once Express has changed a request's or response's
   * prototype (it does for each one), V8 gives every property added to it a shape of its own,
   * which measured 2-5 µs and about 1 KB of garbage per property, against about 0.7 µs and
   * none for reserving it on the object as Node made it.
   */
  reserve(carrier: object): void {
    if (!this.isOn(carrier)) this.define(carrier, undefined);
  }

  private define(carrier: object, value: T | undefined): void {
    Object.defineProperty(carrier, this.key, {
      value,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }

  /** Whether `carrier` itself has the property (an object made from it does not inherit it). */
  private isOn(carrier: object): boolean {
    return Object.prototype.hasOwnProperty.call(carrier, this.key);
  }
}
