import { ParseIntPipe } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayConnection,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import {
  Authenticated,
  CurrentSession,
  CurrentUserId,
  getSession,
  Public,
  RequireFreshAuth,
  Session,
  SessionService,
} from 'nest-session-security';
import type { WebSocket } from 'ws';

/** Sessions as these gateways use them: any key. */
type AnySession = Session<Record<string, unknown>>;

function dataOf(session: AnySession): Record<string, unknown> {
  return Object.fromEntries(session.keys().map((key) => [key, session.get(key)]));
}

/** A gateway for signed-in users only (the module's default access). */
@WebSocketGateway({ path: '/ws' })
export class AccountGateway implements OnGatewayConnection {
  constructor(private readonly sessions: SessionService) {}

  handleConnection(socket: WebSocket): void {
    socket.send(JSON.stringify({ type: 'hello', user: getSession(socket).userId }));
  }

  @SubscribeMessage('whoami')
  whoami(@CurrentUserId() userId: string, @CurrentSession() session: AnySession) {
    return { event: 'whoami', data: { userId, handle: session.handle, data: dataOf(session) } };
  }

  @SubscribeMessage('set')
  set(@CurrentSession() session: AnySession, @MessageBody() body: { key: string; value: number }) {
    session.set(body.key, body.value);
    return { event: 'set', data: { ok: true } };
  }

  @SubscribeMessage('add')
  add(@CurrentSession() session: AnySession, @MessageBody('by', ParseIntPipe) by: number) {
    session.update('count', (count) => (typeof count === 'number' ? count : 0) + by);
    return { event: 'add', data: { ok: true } };
  }

  @SubscribeMessage('regenerate')
  async regenerate(@CurrentSession() session: AnySession) {
    try {
      await this.sessions.regenerate(session);
      return { event: 'regenerate', data: { ok: true } };
    } catch (error) {
      return { event: 'regenerate', data: { error: (error as Error).message } };
    }
  }

  @RequireFreshAuth(5 * 60_000)
  @SubscribeMessage('sensitive')
  sensitive() {
    return { event: 'sensitive', data: { ok: true } };
  }
}

/** A gateway anyone may open; one of its handlers needs a signed-in user. */
@Public()
@WebSocketGateway({ path: '/public-ws' })
export class LobbyGateway {
  @SubscribeMessage('whoami')
  whoami(@CurrentUserId() userId: string | null) {
    return { event: 'whoami', data: { userId } };
  }

  @Authenticated()
  @SubscribeMessage('private')
  private(@ConnectedSocket() socket: WebSocket) {
    return { event: 'private', data: { ok: true, open: socket.readyState } };
  }
}
