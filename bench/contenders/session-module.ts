/**
 * This package, imported by its name from the built dist/, on Nest with Express, with its
 * default options (secure `__Host-sid` cookie: the runner sends the Cookie header itself; CSRF
 * on: the runner sends the token of each session in `x-csrf-token`, as a browser app does, and
 * a browser's `Sec-Fetch-Site` and, on a POST, `Origin`, which the check compares with the
 * request's own origin; the session cache on) and TypeORM's default pool (10 connections).
 * BENCH_CACHE=off starts it with `cache: { enabled: false }` instead; BENCH_MODULE_OPTIONS (JSON,
 * used by `npm run bench:pair`) gives it other options, to measure what one costs.
 *
 * With the cache on, it reports ready only once the cache is usable (its listening connection
 * has run `LISTEN` and found the change triggers): before that every read goes to the database,
 * and a measurement that began then would not measure the cache.
 */
import 'reflect-metadata';
import { Controller, Get, HttpCode, Module, Post, Query } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import {
  CsrfService,
  CurrentSession,
  CurrentUserId,
  Public,
  Session,
  SessionGuard,
  SessionModule,
  SessionModuleOptions,
  SessionService,
} from 'nest-session-security';
import { untilCacheUsable } from './cache-probe';
import { countStatements, serve } from './harness';
import { sessionDataSource } from './session-data-source';

/** BENCH_MODULE_OPTIONS when given, else the defaults (with the cache off for BENCH_CACHE=off). */
function moduleOptions(): SessionModuleOptions {
  const given = process.env.BENCH_MODULE_OPTIONS;
  if (given) return JSON.parse(given) as SessionModuleOptions;
  return process.env.BENCH_CACHE === 'off' ? { cache: { enabled: false } } : {};
}

const options = moduleOptions();
const cacheUsed = options.cache?.enabled !== false;

@Controller()
class BenchController {
  constructor(
    private readonly sessions: SessionService,
    private readonly csrf: CsrfService,
  ) {}

  @Public()
  @Get('csrf')
  csrfToken(@CurrentSession() session: Session) {
    return { token: this.csrf.token(session) };
  }

  @Get('read')
  read(@CurrentUserId() userId: string) {
    return { userId };
  }

  @Post('write')
  @HttpCode(200)
  write(@CurrentSession() session: Session, @CurrentUserId() userId: string) {
    session.set('n', Math.random());
    return { userId };
  }

  @Public()
  @Post('login')
  @HttpCode(200)
  async login(@CurrentSession() session: Session, @Query('u') user?: string) {
    const userId = user ?? 'user';
    await this.sessions.authenticate(session, userId);
    return { userId };
  }
}

@Module({
  imports: [sessionDataSource(), SessionModule.forRoot(options)],
  controllers: [BenchController],
  providers: [{ provide: APP_GUARD, useClass: SessionGuard }],
})
class BenchModule {}

async function main() {
  countStatements();
  const app = await NestFactory.create(BenchModule, { logger: ['error'] });
  if (cacheUsed) await untilCacheUsable(app);
  await serve(app);
}

void main();
