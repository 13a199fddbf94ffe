/**
 * The nestjs-session contenders' application: nestjs-session 3 + express-session 1.19 on a given
 * store, with the settings their documentation recommends: `resave: false` (both stores
 * implement `touch`), `saveUninitialized: false` (nothing stored before something is set: login
 * sessions, less storage), `rolling` left at its default `false`. `cookie.secure: false` because
 * the benchmark speaks plain HTTP (express-session would otherwise not send the cookie at login;
 * reading is the same either way). Login follows express-session's README: regenerate, store the
 * user, save.
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
import session from 'express-session';
import { SessionModule } from 'nestjs-session';
import { serve } from './harness';

declare module 'express-session' {
  interface SessionData {
    userId: string;
    n: number;
    cart: unknown;
  }
}

type Request = { session: session.Session & Partial<session.SessionData>; query: { u?: string } };

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

/** Starts the application with express-session on `store` and reports to the runner. */
export async function serveExpressSession(store: session.Store): Promise<void> {
  @Module({
    imports: [
      // nestjs-session brings its own copy of @nestjs/common 10 types: same shape at run time.
      SessionModule.forRoot({
        session: {
          secret: process.env.BENCH_SESSION_SECRET ?? 'bench-secret',
          resave: false,
          saveUninitialized: false,
          store,
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
