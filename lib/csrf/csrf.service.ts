import { Injectable } from '@nestjs/common';
import { contextOf, Session } from '../lifecycle/session';
import { generateCsrfSecret, maskCsrfToken } from '../core/csrf-token';

/**
 * Hands out CSRF tokens bound to the session (synchronizer tokens): each is the session's
 * secret masked with fresh random bytes, so every call returns a different string and every
 * one of them is valid until the session's secret changes (at login). A visitor without a
 * session gets a pre-session in the session cookie (signed, stored nowhere), so a login form
 * is protected without writing anything; the session its first write stores keeps the same
 * secret, so the page's token goes on working.
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
    context.markCsrfIssued();
    if (!context.record && context.serverKey) {
      return maskCsrfToken(context.holdPreSession(context.serverKey).csrfSecret);
    }
    // A row without a secret (written by another backend), or the server key not loaded yet:
    // the secret is made now and stored with the session.
    let secret = context.record?.csrfSecret ?? context.pendingCsrfSecret;
    if (!secret) {
      secret = generateCsrfSecret();
      context.keepNewCsrfSecret(secret);
    }
    return maskCsrfToken(secret);
  }
}
