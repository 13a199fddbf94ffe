/** What one client did within the current window. */
interface ClientWindow {
  start: number;
  count: number;
  reported: boolean;
}

/**
 * Counts failures per client (unknown or malformed session IDs) in fixed windows, in a bounded
 * map: the oldest clients are forgotten first, so a flood of addresses cannot grow memory.
 */
export class FailureWindow {
  private readonly clients = new Map<string, ClientWindow>();

  constructor(
    private readonly threshold: number,
    private readonly windowMs: number,
    private readonly maxClients = 10_000,
  ) {}

  /**
   * Records one failure of `client` at `now`. Returns the count within the current window and
   * whether this failure is the one that reached the threshold (reported once per window).
   */
  record(client: string, now: number): { count: number; reachedNow: boolean; over: boolean } {
    let window = this.clients.get(client);
    if (!window || now - window.start >= this.windowMs) {
      window = { start: now, count: 0, reported: false };
    }
    this.clients.delete(client);
    this.clients.set(client, window);
    window.count++;
    const over = window.count >= this.threshold;
    const reachedNow = over && !window.reported;
    if (reachedNow) window.reported = true;
    this.evict();
    return { count: window.count, reachedNow, over };
  }

  /** Whether `client` has reached the threshold within its current window. */
  isOver(client: string, now: number): boolean {
    const window = this.clients.get(client);
    return !!window && now - window.start < this.windowMs && window.count >= this.threshold;
  }

  private evict(): void {
    while (this.clients.size > this.maxClients) {
      const oldest = this.clients.keys().next().value as string;
      this.clients.delete(oldest);
    }
  }
}
