/**
 * Contender of `npm run bench:cache` (bench/cache.mjs): one application instance of two on the
 * same database, this package imported by its name from the built dist/, on Nest with Express
 * and its default options (the session cache on). It reports ready only once its cache is
 * usable (its listening connection has run `LISTEN`).
 *
 * HTTP routes, CSRF checked as on any unsafe route: GET /csrf, POST /login?u=<user> (returns the
 * new session's handle and CSRF token), GET /read (401 once the session is revoked), POST
 * /logout-all and DELETE /sessions/:handle (revoke one device of the signed-in user).
 *
 * Over IPC, besides the harness's statistics: `cache` (the cache's counters and the process's
 * memory), `read-seeded` (reads `count` seeded sessions in this process through the repository's
 * `findByHashes`, as the guard does, `concurrency` at a time) and `gc` (a forced garbage
 * collection; the runner starts this process with --expose-gc). Each is answered with a `reply`
 * of the same id.
 */
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Controller, Get, INestApplication, Module } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import {
  CurrentUserId,
  SessionGuard,
  SessionModule,
  SessionRepository,
} from 'nest-session-security';
import { cacheFigures, sessionCacheOf, untilCacheUsable } from './cache-probe';
import { DeviceRoutes } from './device-routes';
import { countStatements, serve } from './harness';
import { sessionDataSource } from './session-data-source';

/** The read the other sessions' load sends while revocations run. */
@Controller()
class CacheController {
  @Get('read')
  read(@CurrentUserId() userId: string) {
    return { userId };
  }
}

@Module({
  imports: [sessionDataSource(), SessionModule.forRoot({})],
  controllers: [DeviceRoutes, CacheController],
  providers: [{ provide: APP_GUARD, useClass: SessionGuard }],
})
class CacheModule {}

/** The stored `id_hash` of seeded session `i`: SHA-256 of its token (see bench/database.mjs). */
function seededHash(prefix: string, i: number): Buffer {
  const token = createHash('sha256').update(`${prefix}${i}`).digest('base64url');
  return createHash('sha256').update(token, 'ascii').digest();
}

function memory() {
  const { heapUsed, heapTotal, rss, external, arrayBuffers } = process.memoryUsage();
  return { heapUsed, heapTotal, rss, external, arrayBuffers };
}

interface ReadSeeded {
  prefix: string;
  from: number;
  count: number;
  concurrency: number;
}

/** Reads seeded sessions [from, from + count) through the repository; counts what it found. */
async function readSeeded(app: INestApplication, { prefix, from, count, concurrency }: ReadSeeded) {
  const repository = app.get(SessionRepository, { strict: false });
  let next = from;
  let found = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < from + count) {
      const rows = await repository.findByHashes([seededHash(prefix, next++)]);
      found += rows.length;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { found, ms: performance.now() - started };
}

/** Answers the runner's `cache`, `read-seeded` and `gc` requests (see the header). */
function answerRunner(app: INestApplication): void {
  const cache = sessionCacheOf(app);
  if (!cache) throw new Error('no session cache');
  process.on('message', (message: { type: string; id: number } & Partial<ReadSeeded>) => {
    const reply = (body: object) => process.send?.({ type: 'reply', id: message.id, ...body });
    if (message.type === 'cache') {
      reply({ cache: cacheFigures(cache), memory: memory() });
    } else if (message.type === 'gc') {
      (globalThis as { gc?: () => void }).gc?.();
      reply({ memory: memory() });
    } else if (message.type === 'read-seeded') {
      void readSeeded(app, message as ReadSeeded).then(
        (read) => reply({ ...read, cache: cacheFigures(cache), memory: memory() }),
        (error: Error) => reply({ error: error.message }),
      );
    }
  });
}

async function main() {
  countStatements();
  const app = await NestFactory.create(CacheModule, { logger: ['error', 'warn'] });
  await untilCacheUsable(app);
  answerRunner(app);
  await serve(app);
}

void main();
