import { INestApplicationContext, WebSocketAdapter, WsMessageHandler } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { Observable } from 'rxjs';
import { SessionUsageError } from '../core/errors';
import { SessionDenialCode } from '../errors/session.exceptions';
import { SocketSessions } from './socket-sessions';

/** The close code of a socket whose session is missing or ended; the reason is the denial code. */
export const SESSION_CLOSE_CODE = 4401;

/** What the adapter needs of a socket: a `ws` WebSocket has all of it. */
interface ClosableSocket {
  close(code: number, reason: string): void;
  once(event: 'close', listener: () => void): unknown;
}

/** What `ws` hands a `verifyClient` function, and how it answers. */
interface VerifyInfo {
  req: IncomingMessage;
}
type VerifyDone = (accepted: boolean, status?: number) => void;
type VerifyClient = (info: VerifyInfo, done: VerifyDone) => void;

export interface SessionWebSocketAdapterOptions {
  /**
   * Called just before a socket is closed because its session ended (logout, revocation,
   * expiry, anywhere): send the client a last message here. The socket is then closed with
   * {@link SESSION_CLOSE_CODE} and the denial code as its reason.
   */
  onSessionEnd?: (socket: unknown, code: SessionDenialCode) => void;
}

/**
 * Gives WebSocket gateways the session of the browser that opened them. Wraps the app's
 * `WsAdapter` (`@nestjs/platform-ws`), whose options it extends with a `verifyClient` step:
 * the handshake's `Origin` is checked (another site's page gets 403) and its cookie loaded
 * before the upgrade; a gateway that needs a signed-in user closes a socket without one with
 * code 4401; each message runs with its session, saved after the handler; a socket whose
 * session ends anywhere is closed with 4401 (live sign-out).
 *
 * @example
 * const app = await NestFactory.create(AppModule);
 * app.useWebSocketAdapter(new SessionWebSocketAdapter(app, new WsAdapter(app)));
 */
export class SessionWebSocketAdapter implements WebSocketAdapter {
  private socketSessions: SocketSessions | null = null;

  constructor(
    private readonly app: INestApplicationContext,
    private readonly inner: WebSocketAdapter,
    private readonly settings: SessionWebSocketAdapterOptions = {},
  ) {}

  /** The app's socket sessions, looked up once the app's modules exist. */
  private get sessions(): SocketSessions {
    this.socketSessions ??= this.app.get(SocketSessions, { strict: false });
    if (!this.socketSessions) {
      throw new SessionUsageError('SessionWebSocketAdapter needs SessionModule in the app.');
    }
    return this.socketSessions;
  }

  create(port: number, options?: Record<string, unknown>): unknown {
    const theirs = options?.verifyClient as VerifyClient | undefined;
    const verifyClient: VerifyClient = (info, done) => {
      this.sessions.handshake(info.req).then(
        (verdict) => {
          if (!verdict.accepted) return done(false, verdict.status);
          if (theirs) return theirs(info, done);
          done(true);
        },
        () => done(false, 503),
      );
    };
    return this.inner.create(port, { ...options, verifyClient });
  }

  bindClientConnect(server: unknown, callback: (...args: unknown[]) => void): void {
    this.inner.bindClientConnect(
      server,
      (socket: ClosableSocket, request: IncomingMessage, ...rest: unknown[]) => {
        const refusal = this.sessions.open(socket, request, (code) => this.end(socket, code));
        if (refusal) {
          socket.close(SESSION_CLOSE_CODE, refusal);
          return;
        }
        socket.once('close', () => this.sessions.close(socket));
        callback(socket, request, ...rest);
      },
    );
  }

  bindClientDisconnect(client: unknown, callback: (...args: unknown[]) => void): void {
    this.inner.bindClientDisconnect?.(client, callback);
  }

  closeClient(client: unknown): void {
    this.inner.closeClient?.(client);
  }

  bindMessageHandlers(
    client: object,
    handlers: WsMessageHandler[],
    transform: (data: unknown) => Observable<unknown>,
  ): void {
    const withSessions = handlers.map((handler) => ({
      ...handler,
      callback: (...args: unknown[]) =>
        this.sessions.handleMessage(client, handler.message, () => handler.callback(...args)),
    }));
    this.inner.bindMessageHandlers(client, withSessions, transform);
  }

  close(server: unknown): unknown {
    return this.inner.close(server);
  }

  /** Lets the wrapped adapter release what it holds, as Nest asks of it at shutdown. */
  dispose(): unknown {
    return (this.inner as { dispose?: () => unknown }).dispose?.();
  }

  private end(socket: ClosableSocket, code: SessionDenialCode): void {
    this.settings.onSessionEnd?.(socket, code);
    socket.close(SESSION_CLOSE_CODE, code);
  }
}
