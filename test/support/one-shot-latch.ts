/**
 * Stops one request at a chosen point until the test lets it go, to interleave two requests
 * deterministically: armed, the next `pass()` waits (and tells the test it arrived) until
 * `open()`; every other `pass()` goes straight through.
 */
export class OneShotLatch {
  private isArmed = false;
  private arrived: (() => void) | null = null;
  private release: (() => void) | null = null;

  /** Arms the latch; resolves once the next `pass()` has arrived and waits. */
  arm(): Promise<void> {
    this.isArmed = true;
    return new Promise((resolve) => (this.arrived = resolve));
  }

  /** Whether the next `pass()` will wait: to test a condition only for the request held. */
  get armed(): boolean {
    return this.isArmed;
  }

  async pass(): Promise<void> {
    if (!this.isArmed) return;
    this.isArmed = false;
    await new Promise<void>((resolve) => {
      this.release = resolve;
      this.arrived?.();
    });
  }

  open(): void {
    this.release?.();
  }
}
