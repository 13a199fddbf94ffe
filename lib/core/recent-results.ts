/**
 * The results of a pure function of a string that a client sends (a header value), kept for the
 * values seen last: an application sees a handful of them (its own `Origin` and `Host`), each of
 * which would otherwise be parsed again on every request. The values come from clients, so the
 * store is bounded: it starts over when full, and a value longer than `longestKept` (an origin
 * that long is rare: a host name of up to 253 characters is allowed) is computed every time and
 * never kept. A client that sends a new value each time costs what it cost before the store
 * existed, plus clearing a small map now and then.
 */
export class RecentResults<T> {
  private readonly results = new Map<string, T>();

  constructor(
    private readonly compute: (value: string) => T,
    private readonly limit = 64,
    private readonly longestKept = 256,
  ) {}

  /** `compute(value)`, from the store when it was computed lately. */
  of(value: string): T {
    const known = this.results.get(value);
    if (known !== undefined || this.results.has(value)) return known as T;
    const result = this.compute(value);
    if (value.length > this.longestKept) return result;
    if (this.results.size >= this.limit) this.results.clear();
    this.results.set(value, result);
    return result;
  }

  /** How many results are kept now (for tests of the bound). */
  get size(): number {
    return this.results.size;
  }
}
