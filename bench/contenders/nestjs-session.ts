/**
 * nestjs-session 3 + express-session 1.19 + connect-pg-simple 10, with the settings their
 * documentation recommends: `resave: false` (the store implements `touch`),
 * `saveUninitialized: false` (no row before something is stored: login sessions, less storage),
 * `rolling` left at its default `false`, a pg pool of 10 connections, the store's default
 * table `session` (created from connect-pg-simple's table.sql by the runner) and default
 * pruning. `cookie.secure: false` because the benchmark speaks plain HTTP (express-session would
 * otherwise not send the cookie at login; reading is the same either way).
 * Login follows express-session's README: regenerate, store the user, save.
 */
import 'reflect-metadata';
import {
  Controller,
  DynamicModule,
  Get,
  HttpCode,
  Module,
  Post,
  Req,
  UnauthorizedException,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import connectPgSimple from 'connect-pg-simple';
import session from 'express-session';
import { SessionModule } from 'nestjs-session';
import { Pool } from 'pg';
import { countStatements, databaseUrl, serve } from './harness';

declare module 'express-session' {
  interface SessionData {
    userId: string;
    n: number;
    cart: unknown;
  }
}

type Request = { session: session.Session & Partial<session.SessionData>; query: { u?: string } };

const PgStore = connectPgSimple(session);

@Controller()
class BenchController {
  @Get('read')
  read(@Req() request: Request) {
    if (!request.session.userId) throw new UnauthorizedException();
    return { userId: request.session.userId };
  }

  @Post('write')
  @HttpCode(200)
  write(@Req() request: Request) {
    if (!request.session.userId) throw new UnauthorizedException();
    request.session.n = Math.random();
    return { userId: request.session.userId };
  }

  @Post('login')
  @HttpCode(200)
  async login(@Req() request: Request) {
    const userId = request.query.u ?? 'user';
    await new Promise<void>((resolve, reject) =>
      request.session.regenerate((error) => (error ? reject(error) : resolve())),
    );
    request.session.userId = userId;
    await new Promise<void>((resolve, reject) =>
      request.session.save((error) => (error ? reject(error) : resolve())),
    );
    return { userId };
  }
}

async function main() {
  countStatements();
  const pool = new Pool({ connectionString: databaseUrl(), max: 10 });

  @Module({
    imports: [
      // nestjs-session brings its own copy of @nestjs/common 10 types: same shape at run time.
      SessionModule.forRoot({
        session: {
          secret: process.env.BENCH_SESSION_SECRET ?? 'bench-secret',
          resave: false,
          saveUninitialized: false,
          store: new PgStore({ pool }),
          cookie: { secure: false, httpOnly: true, sameSite: 'lax' },
        },
      }) as unknown as DynamicModule,
    ],
    controllers: [BenchController],
  })
  class BenchModule {}

  const app = await NestFactory.create(BenchModule, { logger: ['error'] });
  await serve(app);
}

void main();
