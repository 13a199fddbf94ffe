/**
 * Contender of `npm run bench:sockets` (bench/sockets.mjs): one application instance of two on
 * the same database, this package imported by its name from the built dist/, on Nest with
 * Express and its default options, with `SessionWebSocketAdapter` around `WsAdapter` and a
 * gateway at /ws for signed-in users that greets each socket with `{"type":"hello","user":...}`.
 *
 * The one setting besides the defaults: `listenConnection` is the same database with an
 * `application_name` of its own (BENCH_LISTEN_URL), so that the runner can find this instance's
 * listening connection in `pg_stat_activity` and kill it.
 *
 * HTTP routes, CSRF checked as on any unsafe route: GET /csrf, POST /login?u=<user> (returns the
 * new session's handle and CSRF token), POST /logout-all and DELETE /sessions/:handle (revoke
 * one device of the signed-in user).
 */
import 'reflect-metadata';
import {
  Controller,
  Delete,
  Get,
  HttpCode,
  Module,
  NotFoundException,
  Param,
  Post,
  Query,
} from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { WsAdapter } from '@nestjs/platform-ws';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OnGatewayConnection, WebSocketGateway } from '@nestjs/websockets';
import {
  CsrfService,
  CurrentSession,
  CurrentUserId,
  getSession,
  Public,
  SESSION_MIGRATIONS,
  Session,
  SessionGuard,
  SessionModule,
  SessionService,
  SessionWebSocketAdapter,
} from 'nest-session-security';
import type { WebSocket } from 'ws';
import { databaseUrl, serve } from './harness';

@WebSocketGateway({ path: '/ws' })
class AccountGateway implements OnGatewayConnection {
  /** The runner waits for this message: once it arrives, the socket is tracked for sign-out. */
  handleConnection(socket: WebSocket): void {
    socket.send(JSON.stringify({ type: 'hello', user: getSession(socket).userId }));
  }
}

@Controller()
class SocketsController {
  constructor(
    private readonly sessions: SessionService,
    private readonly csrf: CsrfService,
  ) {}

  @Public()
  @Get('csrf')
  csrfToken(@CurrentSession() session: Session) {
    return { token: this.csrf.token(session) };
  }

  /** Signs in as `u`; the handle lets another device of the user revoke this one. */
  @Public()
  @Post('login')
  @HttpCode(200)
  async login(@CurrentSession() session: Session, @Query('u') user: string) {
    await this.sessions.authenticate(session, user);
    return { userId: user, handle: session.handle, csrf: this.csrf.token(session) };
  }

  /** "Sign out everywhere": every session of the user, this one included. */
  @Post('logout-all')
  @HttpCode(200)
  async logoutAll(@CurrentSession() session: Session, @CurrentUserId() userId: string) {
    return { count: await this.sessions.logoutAll(userId, session) };
  }

  /** Revokes one other device of the signed-in user, by its handle. */
  @Delete('sessions/:handle')
  @HttpCode(204)
  async revoke(
    @CurrentSession() session: Session,
    @CurrentUserId() userId: string,
    @Param('handle') handle: string,
  ) {
    if (!(await this.sessions.revoke(userId, handle, session))) throw new NotFoundException();
  }
}

@Module({
  imports: [
    TypeOrmModule.forRoot({
      type: 'postgres',
      url: databaseUrl(),
      migrations: [...SESSION_MIGRATIONS],
      migrationsRun: true,
      logging: false,
    }),
    SessionModule.forRoot({ listenConnection: process.env.BENCH_LISTEN_URL }),
  ],
  controllers: [SocketsController],
  providers: [AccountGateway, { provide: APP_GUARD, useClass: SessionGuard }],
})
class SocketsModule {}

async function main() {
  // Warnings too: the listener logs each outage of its connection and its return.
  const app = await NestFactory.create(SocketsModule, { logger: ['error', 'warn', 'log'] });
  app.useWebSocketAdapter(new SessionWebSocketAdapter(app, new WsAdapter(app)));
  await serve(app);
}

void main();
