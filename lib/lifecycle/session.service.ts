import { Injectable } from '@nestjs/common';
import { Clock } from '../core/clock';
import { describeDevice } from '../core/device-summary';
import { countActive } from '../core/session-record';
import { isWellFormedHandle } from '../core/session-token';
import { describeSession, SessionEvents } from '../events/session-events';
import { SessionRepository } from '../storage/session.repository';
import { EventRequestInfo } from '../events/session-event';
import { contextOf, Session } from './session';
import { SessionRevoker } from './session-revoker';
import { SessionWriter } from './session-writer';

/** One login of a user, as a "your devices" list shows it: never a token or a hash. */
export interface SessionSummary {
  /** Public identifier of the login, stable across regenerations; pass it to `revoke`. */
  handle: string;
  /** Whether this is the session of the request that asked. */
  current: boolean;
  createdAt: Date;
  /** Last interactive authentication; `null` for a session started by remember-me. */
  authenticatedAt: Date | null;
  lastSeenAt: Date;
  ip: string | null;
  userAgent: string | null;
  /** A readable device name such as "Firefox on Windows". */
  device: string;
}

const NO_CLIENT: EventRequestInfo = { ip: null, userAgent: null };

/**
 * The session operations a controller calls: sign in (with ID regeneration), privilege
 * change, sign out, the user's device list and its revocations.
 *
 * @example
 * @Post('login')
 * async login(@CurrentSession() session: Session, @Body() body: LoginDto) {
 *   const user = await this.users.verify(body.username, body.password);
 *   await this.sessions.authenticate(session, user.id);
 *   return { user };
 * }
 */
@Injectable()
export class SessionService {
  constructor(
    private readonly repository: SessionRepository,
    private readonly revoker: SessionRevoker,
    private readonly writer: SessionWriter,
    private readonly events: SessionEvents,
    private readonly clock: Clock,
  ) {}

  /**
   * Marks the session as authenticated for `userId`, under a new ID: the old ID is retired
   * before anything about the user is stored (session fixation). Data carries over from an
   * anonymous session (a cart survives sign-in) or from the same user's session; a session of
   * another user is not carried over. Re-authentication by the same user renews
   * `authenticatedAt` and keeps the session's `handle`. With `maxSessionsPerUser`, a new login
   * may evict the least recently used session or be refused (403 `session_limit_reached`).
   */
  async authenticate(session: Session<object>, userId: string | number): Promise<void> {
    await this.writer.regenerate(contextOf(session), { purpose: 'login', userId: String(userId) });
  }

  /**
   * Gives the session a new ID after a change of privilege (role granted, sudo mode), keeping
   * its user, data and deadlines.
   */
  async regenerate(session: Session<object>): Promise<void> {
    await this.writer.regenerate(contextOf(session), { purpose: 'privilege' });
  }

  /**
   * After the user changed their password: gives the session a new ID (and counts as a fresh
   * authentication, since the user just proved the old password), and ends every other session
   * and every remember-me token of the user, this device's included (ASVS: terminate other
   * sessions after a password change). Within its grace period the old ID reaches nothing.
   * Returns how many other sessions were ended.
   */
  async passwordChanged(session: Session<object>): Promise<number> {
    const context = contextOf(session);
    const userId = context.record?.userId;
    if (!userId) return 0;
    await this.writer.regenerate(context, { purpose: 'login', userId });
    context.forgetRememberMe();
    const { sessions } = await this.revoker.revoke(
      userId,
      { exceptHandle: context.record!.handle },
      'all',
      context,
      'others',
    );
    return countActive(sessions);
  }

  /**
   * Ends the session on the server (its row is deleted, and so is any successor a concurrent
   * regeneration gave it) and clears the cookie with the same attributes it was set with;
   * forgets this device's remember-me token when the request holds it. A replay of the old
   * cookie is refused.
   */
  async logout(session: Session<object>): Promise<void> {
    const context = contextOf(session);
    if (context.rememberMe) {
      await this.revoker.forgetHeldDevice(context.rememberMe, context.record?.userId ?? null);
      context.forgetRememberMe();
    }
    const ended = await this.revoker.endCurrent(context);
    if (!ended) return;
    this.events.emit({
      type: 'session.logged_out',
      at: this.clock.now(),
      request: context.client,
      session: describeSession(ended),
    });
  }

  /**
   * The user's active sessions, most recently used first, one entry per login, with the
   * current one marked when `current` is given. One query by `user_id`.
   */
  async listSessions(
    userId: string | number,
    current?: Session<object>,
  ): Promise<SessionSummary[]> {
    const records = await this.repository.findActiveOfUser(String(userId), this.clock.now());
    const currentHandle = current ? contextOf(current).record?.handle : undefined;
    return records.map((record) => ({
      handle: record.handle,
      current: record.handle === currentHandle,
      createdAt: record.createdAt,
      authenticatedAt: record.authenticatedAt,
      lastSeenAt: record.lastSeenAt,
      ip: record.ip,
      userAgent: record.userAgent,
      device: describeDevice(record.userAgent),
    }));
  }

  /**
   * Signs out one login of `userId` (by its `handle`, from `listSessions`) and forgets the
   * remembered device it issued or was restored from. Returns `false` when the user has no
   * such session or device (another user's handle changes nothing), and at once, without a
   * query, for a value that is not a handle's shape (a handle usually comes from a URL). Its
   * next request gets 401 `session_revoked` and a clearing cookie.
   */
  async revoke(
    userId: string | number,
    handle: string,
    current?: Session<object>,
  ): Promise<boolean> {
    if (!isWellFormedHandle(handle)) return false;
    const context = current ? contextOf(current) : null;
    const { sessions, forgotten } = await this.revoker.revoke(
      String(userId),
      { handle },
      'revoked',
      context,
      'device',
    );
    return sessions.length > 0 || forgotten > 0;
  }

  /**
   * Signs out every other login of the session's user and forgets every remembered device
   * but the one this request holds (with its current validator); returns how many sessions
   * were ended.
   */
  async revokeOthers(session: Session<object>): Promise<number> {
    const context = contextOf(session);
    const userId = context.record?.userId;
    if (!userId || !context.record) return 0;
    const { sessions } = await this.revoker.revoke(
      userId,
      { exceptHandle: context.record.handle },
      { allBut: context.rememberMe },
      context,
      'others',
    );
    return countActive(sessions);
  }

  /**
   * Ends every session of `userId` on every device and deletes every remember-me token of the
   * user; returns how many active sessions were ended. Pass the current session to have its
   * cookies cleared on this response too.
   */
  async logoutAll(userId: string | number, current?: Session<object>): Promise<number> {
    const user = String(userId);
    const context = current ? contextOf(current) : null;
    const count = await this.revoker.revokeAll(user, context);
    this.events.emit({
      type: 'session.logged_out_all',
      at: this.clock.now(),
      request: context?.client ?? NO_CLIENT,
      userId: user,
      count,
    });
    return count;
  }
}
