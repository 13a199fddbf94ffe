import { Controller, Get } from '@nestjs/common';
import {
  CurrentSession,
  CurrentUserId,
  Session,
  SessionDenialCode,
  SessionService,
  SessionUnauthorizedException,
} from 'nest-session-security';
import { PublicUser } from '../users/public-user';
import { UsersService } from '../users/users.service';

export interface MeResponse {
  user: PublicUser;
  session: { handle?: string; createdAt?: Date; authenticatedAt: Date | null };
}

/** The signed-in user and the public facts of the current session (never its ID or token). */
@Controller('me')
export class MeController {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionService,
  ) {}

  // No decorator: the module's default access ('authenticated') answers 401 to anonymous callers.
  @Get()
  async me(
    @CurrentSession() session: Session,
    @CurrentUserId() userId: string,
  ): Promise<MeResponse> {
    const user = await this.users.findById(userId);
    // A session can outlive its user (deleted account): end it and answer as to a signed-out one.
    if (!user) {
      await this.sessions.logout(session);
      throw new SessionUnauthorizedException(SessionDenialCode.Required, 'Sign in again.');
    }
    return {
      user,
      session: {
        handle: session.handle,
        createdAt: session.createdAt,
        authenticatedAt: session.authenticatedAt,
      },
    };
  }
}
