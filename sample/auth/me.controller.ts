import { Controller, Get } from '@nestjs/common';
import { CurrentSession, Session } from 'nest-session-security';
import { PublicUser } from '../users/public-user';
import { SignedInUsers } from './signed-in-users';

export interface MeResponse {
  user: PublicUser;
  session: { handle?: string; createdAt?: Date; authenticatedAt: Date | null };
}

/** The signed-in user and the public facts of the current session (never its ID or token). */
@Controller('me')
export class MeController {
  constructor(private readonly signedIn: SignedInUsers) {}

  // No decorator: the module's default access ('authenticated') answers 401 to anonymous callers.
  @Get()
  async me(@CurrentSession() session: Session): Promise<MeResponse> {
    return {
      user: await this.signedIn.userOf(session),
      session: {
        handle: session.handle,
        createdAt: session.createdAt,
        authenticatedAt: session.authenticatedAt,
      },
    };
  }
}
