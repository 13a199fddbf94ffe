import { Injectable } from '@nestjs/common';
import { CsrfService, type Session } from 'nest-session-security';

/**
 * The CSRF token the page sends back in `x-csrf-token` on every unsafe request: the package's
 * synchronizer token for the session. A visitor without a session gets a signed pre-session in
 * the session cookie (nothing is stored), so the sign-in form is protected too. Sign-in gives
 * the session a new secret: fetch a new token after it.
 */
@Injectable()
export class CsrfTokenProvider {
  constructor(private readonly csrf: CsrfService) {}

  token(session: Session): string {
    return this.csrf.token(session);
  }
}
