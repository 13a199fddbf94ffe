/**
 * What the benchmarks ask of the package's session cache. The cache is not exported by the
 * package (an application never needs to see it), so it is imported from the built file: the
 * same module the package's index loads, hence the same class, the token Nest knows it by.
 */
import { INestApplication } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { SessionCache } from '../../dist/storage/session-cache';

/** The application's session cache, or null when the option `cache` turned it off. */
export function sessionCacheOf(app: INestApplication): SessionCache | null {
  return app.get(SessionCache, { strict: false });
}

/**
 * Resolves once the application's cache answers reads (its listening connection has run
 * `LISTEN` and found the change triggers, a moment after start-up); throws after `timeoutMs`.
 */
export async function untilCacheUsable(app: INestApplication, timeoutMs = 30_000): Promise<void> {
  const cache = sessionCacheOf(app);
  if (!cache) throw new Error('the application has no session cache (option cache.enabled false?)');
  const deadline = Date.now() + timeoutMs;
  while (!cache.usable) {
    if (Date.now() > deadline)
      throw new Error(`the session cache was not usable after ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** The cache's counters, as the runners report them. */
export function cacheFigures(cache: SessionCache) {
  return {
    usable: cache.usable,
    size: cache.size,
    weight: cache.weight,
    hits: cache.hits,
    misses: cache.misses,
  };
}
