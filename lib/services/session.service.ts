import { Injectable } from '@nestjs/common';
import { Clock } from '../core/clock';
import { describeSession, SessionEvents } from '../events/session-events';
import { SessionRepository } from '../storage/session.repository';
import { contextOf, Session } from '../session/session';
import { SessionWriter } from '../session/session-writer';

/**
 * The session operations a controller calls: sign in (with ID regeneration), privilege
 * change, sign out, sign out everywhere.
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
    private readonly writer: SessionWriter,
    private readonly events: SessionEvents,
    private readonly clock: Clock,
  ) {}

  /**
   * Marks the session as authenticated for `userId`, under a new ID: the old ID is retired
   * before anything about the user is stored (session fixation). Data carries over from an
   * anonymous session (a cart survives sign-in) or from the same user's session; a session of
   * another user is not carried over. Re-authentication by the same user renews
   * `authenticatedAt` and keeps the session's `handle`.
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
   * Ends the session on the server (its row is deleted) and clears the cookie with the same
   * attributes it was set with. A replay of the old cookie is refused.
   */
  async logout(session: Session<object>): Promise<void> {
    const context = contextOf(session);
    const record = context.record;
    if (record) {
      await this.repository.delete(record.idHash);
      this.events.emit({
        type: 'session.logged_out',
        at: this.clock.now(),
        request: context.client,
        session: describeSession(record),
      });
    }
    context.reset();
    context.ended = true;
    context.cookie = 'clear';
  }

  /**
   * Ends every session of `userId` on every device; returns how many active sessions were
   * ended. Pass the current session to have its cookie cleared on this response too.
   */
  async logoutAll(userId: string | number, current?: Session<object>): Promise<number> {
    const user = String(userId);
    const deleted = await this.repository.deleteAllOfUser(user);
    const count = deleted.filter((record) => record.obsoletedAt === null).length;
    const context = current ? contextOf(current) : null;
    if (context?.record?.userId === user) {
      context.reset();
      context.ended = true;
      context.cookie = 'clear';
    }
    this.events.emit({
      type: 'session.logged_out_all',
      at: this.clock.now(),
      request: context?.client ?? { ip: null, userAgent: null },
      userId: user,
      count,
    });
    return count;
  }
}
