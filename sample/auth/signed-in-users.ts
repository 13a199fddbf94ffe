import { Injectable } from '@nestjs/common';
import {
  Session,
  SessionDenialCode,
  SessionService,
  SessionUnauthorizedException,
} from 'nest-session-security';
import { PublicUser } from '../users/public-user';
import { UsersService } from '../users/users.service';

/** The user of a signed-in session, for `GET /api/me` and the GraphQL query `me`. */
@Injectable()
export class SignedInUsers {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionService,
  ) {}

  /**
   * The session's user. A session can outlive its user (deleted account): it is then ended and
   * the caller answered as a signed-out one (`session_required`).
   */
  async userOf(session: Session): Promise<PublicUser> {
    const user = session.userId === null ? null : await this.users.findById(session.userId);
    if (user) return user;
    await this.sessions.logout(session);
    throw new SessionUnauthorizedException(SessionDenialCode.Required, 'Sign in again.');
  }
}
