import { Injectable } from '@nestjs/common';
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
    if (record) await this.repository.delete(record.idHash);
    context.reset();
    context.ended = true;
    context.cookie = 'clear';
  }

  /** Ends every session of `userId` on every device; returns how many were ended. */
  async logoutAll(userId: string | number): Promise<number> {
    return this.repository.deleteAllOfUser(String(userId));
  }
}
