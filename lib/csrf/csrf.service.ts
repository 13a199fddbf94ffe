import { Injectable } from '@nestjs/common';
import { contextOf, Session } from '../session/session';
import { generateCsrfSecret, maskCsrfToken } from './csrf-token';

/**
 * Hands out CSRF tokens bound to the session (synchronizer tokens): each is the session's
 * secret masked with fresh random bytes, so every call returns a different string and every
 * one of them is valid until the session's secret changes (at login). Asking for a token
 * stores a new anonymous session if there was none yet, so a login form is protected too.
 *
 * @example
 * @Public()
 * @Get('csrf')
 * csrf(@CurrentSession() session: Session) {
 *   return { token: this.csrf.token(session) };
 * }
 */
@Injectable()
export class CsrfService {
  /** A token for the session; send it back in the CSRF header on unsafe requests. */
  token(session: Session<object>): string {
    const context = contextOf(session);
    let secret = context.record?.csrfSecret ?? context.pendingCsrfSecret;
    if (!secret) {
      secret = generateCsrfSecret();
      context.pendingCsrfSecret = secret;
    }
    context.csrfIssued = true;
    return maskCsrfToken(secret);
  }
}
