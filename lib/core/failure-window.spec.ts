import { FailureWindow } from './failure-window';

describe('FailureWindow', () => {
  it('R19 reports a client once when it reaches the threshold within the window', () => {
    const window = new FailureWindow(3, 60_000);
    expect(window.record('a', 0)).toEqual({ count: 1, reachedNow: false, over: false });
    expect(window.record('a', 1_000)).toEqual({ count: 2, reachedNow: false, over: false });
    expect(window.record('a', 2_000)).toEqual({ count: 3, reachedNow: true, over: true });
    expect(window.record('a', 3_000)).toEqual({ count: 4, reachedNow: false, over: true });
    expect(window.isOver('a', 3_000)).toBe(true);
  });

  it('counts clients separately', () => {
    const window = new FailureWindow(2, 60_000);
    window.record('a', 0);
    expect(window.record('b', 0).over).toBe(false);
    expect(window.record('a', 0).over).toBe(true);
    expect(window.isOver('b', 0)).toBe(false);
  });

  it('starts a new window after the window length', () => {
    const window = new FailureWindow(2, 60_000);
    window.record('a', 0);
    window.record('a', 59_999);
    expect(window.isOver('a', 59_999)).toBe(true);
    expect(window.isOver('a', 60_000)).toBe(false);
    expect(window.record('a', 60_000)).toEqual({ count: 1, reachedNow: false, over: false });
    expect(window.record('a', 60_001)).toEqual({ count: 2, reachedNow: true, over: true });
  });

  it('forgets the least recently failing clients beyond its size', () => {
    const window = new FailureWindow(2, 60_000, 2);
    window.record('a', 0);
    window.record('b', 0);
    window.record('c', 0);
    expect(window.record('a', 0).count).toBe(1);
    expect(window.record('c', 0).count).toBe(2);
  });
});
