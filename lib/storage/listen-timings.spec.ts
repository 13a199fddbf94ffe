import { MAX_RECONNECT_DELAY_MS, reconnectDelay } from './listen-timings';

describe('reconnectDelay', () => {
  it('retries after 100 ms first, then doubles', () => {
    expect([0, 1, 2, 3, 4].map(reconnectDelay)).toEqual([100, 200, 400, 800, 1600]);
  });

  it('waits at most 3 s however long the database stays away', () => {
    expect(reconnectDelay(5)).toBe(MAX_RECONNECT_DELAY_MS);
    expect(reconnectDelay(1000)).toBe(3_000);
  });
});
