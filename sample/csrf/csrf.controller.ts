import { Controller, Get } from '@nestjs/common';
import { CurrentSession, Public, Session } from 'nest-session-security';
import { CsrfTokenProvider } from './csrf-token.provider';

/**
 * `GET /api/csrf`: the token for the current session, anonymous ones included (sign-in is an
 * unsafe request too). A client fetches it again after sign-in, which gives the session a new ID.
 */
@Public()
@Controller('csrf')
export class CsrfController {
  constructor(private readonly csrf: CsrfTokenProvider) {}

  @Get()
  token(@CurrentSession() session: Session): { token: string } {
    return { token: this.csrf.token(session) };
  }
}
