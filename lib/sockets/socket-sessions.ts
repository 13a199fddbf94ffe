import { HttpException, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import { Clock } from '../core/clock';
import { assessSession } from '../core/session-policy';
import { SessionDenialCode } from '../errors/session.exceptions';
import { EventRequestInfo } from '../events/session-event';
import { SessionEvents } from '../events/session-events';
import { InjectSessionOptions } from '../options/session-options.token';
import type { ResolvedSessionOptions } from '../options/resolve-session-options';
import { ServerKey } from '../lifecycle/server-key';
import { SessionContext } from '../lifecycle/session-context';
import { SessionLoader } from '../lifecycle/session-loader';
import { attachSessionContext } from '../lifecycle/session-request';
import { Session } from '../lifecycle/session';
import { SessionService } from '../lifecycle/session.service';
import { SessionWriter } from '../lifecycle/session-writer';
import { runSocketMessage, SocketMessage } from '../lifecycle/socket-message-scope';
import { authenticationDenial, freshnessDenial } from '../lifecycle/access-denials';
import { setCurrentUser } from '../user/current-user';
import { findSessionUserLoader } from '../user/find-session-user-loader';
import { SessionUserLoader } from '../user/session-user-loader';
import { clientInfo, requestHeader } from '../http/client-request';
import { GatewayRules } from './gateway-rules';
import { handshakeOriginProblem } from './handshake-origin';
import { LiveSignOut } from './live-sign-out';

/**
 * The reply to a refused message, in the shape of Nest's WebSocket exceptions plus the stable
 * denial `code`.
 */
function refusal(denial: { code: string; message: string }): unknown {
  return { event: 'exception', data: { status: 'error', ...denial } };
}

/** What a handshake gets: the upgrade, or an HTTP refusal. */
export type HandshakeVerdict = { accepted: true } | { accepted: false; status: number };

/** The handshake's client: the socket's peer address (no proxy header is trusted here). */
function handshakeClient(request: IncomingMessage): EventRequestInfo {
  return { ...clientInfo(request), ip: request.socket?.remoteAddress ?? null };
}

/**
 * The sessions of WebSocket connections, from handshake to close: the handshake's cookie is
 * loaded as a request's is (strict mode, expiry, obsolete IDs and their attack response), a
 * gateway that needs a signed-in user refuses a socket without one, each message gets a session
 * context of its own (read again from the store, so a session that ended never serves one), and
 * what a handler writes is saved after it. Sockets with a session are signed out live.
 */
@Injectable()
export class SocketSessions implements OnModuleInit {
  private readonly logger = new Logger('SessionWebSocketAdapter');
  /** Handshakes accepted, with the user of their session, until their socket opens. */
  private readonly handshakes = new WeakMap<
    IncomingMessage,
    { context: SessionContext; user: unknown }
  >();
  /** The handshake's client and URL (which names the gateway) of every open socket. */
  private readonly sockets = new WeakMap<object, { client: EventRequestInfo; url?: string }>();
  private userLoader: SessionUserLoader | null = null;

  constructor(
    @InjectSessionOptions() private readonly options: ResolvedSessionOptions,
    private readonly loader: SessionLoader,
    private readonly writer: SessionWriter,
    private readonly sessions: SessionService,
    private readonly serverKey: ServerKey,
    private readonly clock: Clock,
    private readonly events: SessionEvents,
    private readonly gateways: GatewayRules,
    private readonly liveSignOut: LiveSignOut,
    private readonly moduleRef: ModuleRef,
  ) {}

  onModuleInit(): void {
    this.userLoader = findSessionUserLoader(this.moduleRef);
  }

  /**
   * Decides a handshake before the upgrade: another site's page is refused with 403; the
   * session the cookie reaches is loaded for the socket. A store that cannot answer gives 503.
   */
  async handshake(request: IncomingMessage): Promise<HandshakeVerdict> {
    const problem = handshakeOriginProblem(
      {
        origin: requestHeader(request, 'origin'),
        host: requestHeader(request, 'host'),
        secFetchSite: requestHeader(request, 'sec-fetch-site'),
      },
      this.options.csrf.trustedOrigins,
    );
    if (problem) {
      this.events.emit({
        type: 'csrf.rejected',
        at: this.clock.now(),
        request: handshakeClient(request),
        reason: problem,
        method: 'GET',
        session: null,
      });
      return { accepted: false, status: 403 };
    }
    try {
      const context = await this.loader.load(request.headers.cookie, () =>
        handshakeClient(request),
      );
      const user = await this.userOf(context);
      this.handshakes.set(request, { context, user });
      return { accepted: true };
    } catch (error) {
      return { accepted: false, status: error instanceof HttpException ? error.getStatus() : 503 };
    }
  }

  /**
   * The socket of an accepted handshake opened. Returns `null` when it may stay, or the denial
   * code to close it with: its gateway needs a signed-in user and the session is missing or
   * cannot be used. `end` closes it when its session ends later.
   */
  open(
    socket: object,
    request: IncomingMessage,
    end: (code: SessionDenialCode) => void,
  ): SessionDenialCode | null {
    const handshake = this.handshakes.get(request);
    this.handshakes.delete(request);
    if (!handshake) return SessionDenialCode.Required;
    const { context, user } = handshake;
    const access = this.gateways.connectionAccess(request.url);
    const { token, record } = context;
    const live = token && record && !context.denial ? { token, record } : null;
    if (access === 'authenticated' && !live?.record.userId) {
      return context.denial?.code ?? SessionDenialCode.Required;
    }
    this.sockets.set(socket, { client: context.client, url: request.url });
    // The session as the handshake found it, for the gateway's `handleConnection`.
    attachSessionContext(socket, context, this.options.maxDataSize);
    setCurrentUser(socket, user);
    if (live) this.liveSignOut.track({ socket, client: context.client, session: live, end });
    return null;
  }

  /** The socket closed. */
  close(socket: object): void {
    this.liveSignOut.untrack(socket);
  }

  /**
   * Runs one message's handling (guard, pipes, handler) with the session as the store has it
   * now, and saves what the handler wrote. The gateway's rules for `event` apply first: a
   * refused message gets `{ event: 'exception', data: { status: 'error', code, message } }`
   * and its handler does not run; so does one whose session could not be read or saved. A
   * socket whose session ended is closed instead.
   */
  async handleMessage(socket: object, event: unknown, handle: () => unknown): Promise<unknown> {
    try {
      return await this.serveMessage(socket, event, handle);
    } catch (error) {
      if (error instanceof HttpException) {
        // The client-facing body, as the HTTP response would carry it (never a driver's detail).
        const { code, message } = error.getResponse() as { code?: string; message?: string };
        if (code) return refusal({ code, message: message ?? error.message });
      }
      this.logger.error(`A WebSocket message failed: ${String(error)}`);
      return refusal({ code: 'internal_error', message: 'The message could not be handled.' });
    }
  }

  /**
   * One message: its session, the gateway's rules, the handler, then the save. What fails
   * before the handler (a store that cannot answer) or in the save (a conflict, data too
   * large) reaches the client as a refusal, so a reply never claims a write that was lost.
   */
  private async serveMessage(
    socket: object,
    event: unknown,
    handle: () => unknown,
  ): Promise<unknown> {
    const context = await this.messageContext(socket);
    if (!context) return undefined;
    const message = new SocketMessage(socket);
    attachSessionContext(message, context, this.options.maxDataSize);
    const rules = this.gateways.messageRules(this.sockets.get(socket)?.url, event);
    if (rules.access === 'authenticated') {
      const denial =
        authenticationDenial(context) ?? freshnessDenial(rules.freshAuthMaxAge, context);
      if (denial) return refusal(denial);
    }
    if (!(await this.loadUser(message, context))) return undefined;
    const result = await runSocketMessage(message, handle);
    if (!context.refused) await this.writer.persist(context);
    return result;
  }

  /** The message's session context; `null` when the socket's session ended (it is closed). */
  private async messageContext(socket: object): Promise<SessionContext | null> {
    const open = this.liveSignOut.find(socket);
    const client = open?.client ??
      this.sockets.get(socket)?.client ?? { ip: null, userAgent: null };
    const now = this.clock.now();
    const context = new SessionContext(now, () => client, false, this.serverKey.current, true);
    if (!open) return context;
    const session = await this.liveSignOut.check(open);
    if (!session) return null;
    const verdict = assessSession(session.record, now, this.options.timings);
    const touchDue = verdict.state === 'active' && verdict.touchDue;
    context.admit(session.token, session.record, { touchDue, rotationDue: false });
    return context;
  }

  /**
   * The user of a signed-in session, for `@CurrentUser()`, as the guard loads it for a request
   * (`null` without a loader or a user). A user the app no longer finds ends the session as a
   * logout does, and the socket goes on without one: `null` too.
   */
  private async userOf(context: SessionContext): Promise<unknown> {
    const userId = context.record?.userId;
    if (!this.userLoader || !userId) return null;
    const user = await this.userLoader.load(userId);
    if (user !== null && user !== undefined) return user;
    await this.sessions.logout(new Session(context, this.options.maxDataSize));
    return null;
  }

  /**
   * The message's user; a session whose user is gone ends, and so does the socket: `false`.
   */
  private async loadUser(message: SocketMessage, context: SessionContext): Promise<boolean> {
    const signedIn = context.record?.userId;
    const user = await this.userOf(context);
    if (signedIn && user === null && this.userLoader) {
      const open = this.liveSignOut.find(message.socket);
      if (open) await this.liveSignOut.check(open);
      return false;
    }
    setCurrentUser(message, user);
    return true;
  }
}
