import { Controller, Delete, Get, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { CurrentSession, CurrentUserId, Session, SessionService } from 'nest-session-security';
import { SessionNotFoundException } from './session-not-found.exception';
import { SessionView, toSessionView } from './session-view';

/**
 * "Your devices": the signed-in user's sessions, and signing out one of them or all but this
 * one. A signed-out device gets 401 `session_revoked` on its next request.
 */
@Controller('sessions')
export class SessionsController {
  constructor(private readonly sessions: SessionService) {}

  /** Most recently used first; the session of this request has `current: true`. */
  @Get()
  async list(
    @CurrentSession() session: Session,
    @CurrentUserId() userId: string,
  ): Promise<SessionView[]> {
    const summaries = await this.sessions.listSessions(userId, session);
    return summaries.map(toSessionView);
  }

  @Post('revoke-others')
  @HttpCode(HttpStatus.NO_CONTENT)
  async revokeOthers(@CurrentSession() session: Session): Promise<void> {
    await this.sessions.revokeOthers(session);
  }

  /** Revoking the current session's own handle signs this device out (its cookie is cleared). */
  @Delete(':handle')
  @HttpCode(HttpStatus.NO_CONTENT)
  async revoke(
    @CurrentSession() session: Session,
    @CurrentUserId() userId: string,
    @Param('handle') handle: string,
  ): Promise<void> {
    // The user ID scopes the revocation: another user's handle matches nothing.
    if (!(await this.sessions.revoke(userId, handle, session))) {
      throw new SessionNotFoundException();
    }
  }
}
