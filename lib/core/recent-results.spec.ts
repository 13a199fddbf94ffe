import { RecentResults } from './recent-results';

describe('RecentResults', () => {
  function counted<T>(compute: (value: string) => T) {
    const calls: string[] = [];
    return {
      calls,
      compute: (value: string) => {
        calls.push(value);
        return compute(value);
      },
    };
  }

  it('computes a value once while it is kept, a null result included', () => {
    const { calls, compute } = counted((value) => (value.startsWith('ok') ? value : null));
    const results = new RecentResults(compute);
    expect([results.of('ok-1'), results.of('bad'), results.of('ok-1'), results.of('bad')]).toEqual([
      'ok-1',
      null,
      'ok-1',
      null,
    ]);
    expect(calls).toEqual(['ok-1', 'bad']);
  });

  it('keeps at most its limit, starting over when full, and answers right throughout', () => {
    const { calls, compute } = counted((value) => value.length);
    const results = new RecentResults(compute, 3);
    for (const value of ['a', 'bb', 'ccc']) results.of(value);
    expect(results.size).toBe(3);
    expect(results.of('dddd')).toBe(4);
    expect(results.size).toBe(1);
    expect(results.of('a')).toBe(1);
    expect(calls).toEqual(['a', 'bb', 'ccc', 'dddd', 'a']);
  });

  it('never keeps a value longer than its longest, and computes it every time', () => {
    const { calls, compute } = counted((value) => value.length);
    const results = new RecentResults(compute, 64, 8);
    const long = 'x'.repeat(9);
    expect([results.of(long), results.of(long)]).toEqual([9, 9]);
    expect(results.size).toBe(0);
    expect(calls).toEqual([long, long]);
  });

  it('keeps a value of exactly its longest', () => {
    const { calls, compute } = counted((value) => value.length);
    const results = new RecentResults(compute, 64, 8);
    const longest = 'x'.repeat(8);
    expect([results.of(longest), results.of(longest)]).toEqual([8, 8]);
    expect(calls).toEqual([longest]);
  });

  it('keeps an undefined result as a result', () => {
    const { calls, compute } = counted((): string | undefined => undefined);
    const results = new RecentResults(compute);
    expect([results.of('a'), results.of('a')]).toEqual([undefined, undefined]);
    expect(calls).toEqual(['a']);
  });

  it('stays within its bound under a stream of distinct hostile values', () => {
    const results = new RecentResults((value) => value.toUpperCase(), 16);
    for (let i = 0; i < 10_000; i++) {
      expect(results.of(`https://evil-${i}.example`)).toBe(`HTTPS://EVIL-${i}.EXAMPLE`);
      expect(results.size).toBeLessThanOrEqual(16);
    }
  });
});
