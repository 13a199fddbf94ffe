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
import { Module } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { WsAdapter } from '@nestjs/platform-ws';
import { OnGatewayConnection, WebSocketGateway } from '@nestjs/websockets';
import {
  getSession,
  SessionGuard,
  SessionModule,
  SessionWebSocketAdapter,
} from 'nest-session-security';
import type { WebSocket } from 'ws';
import { DeviceRoutes } from './device-routes';
import { serve } from './harness';
import { sessionDataSource } from './session-data-source';

@WebSocketGateway({ path: '/ws' })
class AccountGateway implements OnGatewayConnection {
  /** The runner waits for this message: once it arrives, the socket is tracked for sign-out. */
  handleConnection(socket: WebSocket): void {
    socket.send(JSON.stringify({ type: 'hello', user: getSession(socket).userId }));
  }
}

@Module({
  imports: [
    sessionDataSource(),
    SessionModule.forRoot({ listenConnection: process.env.BENCH_LISTEN_URL }),
  ],
  controllers: [DeviceRoutes],
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
