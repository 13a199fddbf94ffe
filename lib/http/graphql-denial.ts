import { HttpException } from '@nestjs/common';
import { SessionDenialCode, SessionGraphQLException } from '../errors/session.exceptions';

const DENIAL_CODES: ReadonlySet<string> = new Set(Object.values(SessionDenialCode));

/**
 * An error of the session's loading (503 `session_store_unavailable`, 429
 * `session_id_guessing`, ...) in the form of a GraphQL denial, so a resolver's caller gets the
 * same `extensions.code` as a REST client gets `code`. The message is the one of the HTTP body,
 * written for clients (a store error's own message names the failed statement, for logs, and
 * stays in `cause`). Any other error is returned as it is.
 */
export function asGraphqlDenial(error: unknown): unknown {
  if (!(error instanceof HttpException)) return error;
  const { code } = error as { code?: unknown };
  if (typeof code !== 'string' || !DENIAL_CODES.has(code)) return error;
  const body = error.getResponse() as { message?: unknown };
  const message = typeof body.message === 'string' ? body.message : error.message;
  return new SessionGraphQLException(code as SessionDenialCode, message, error.getStatus(), {
    cause: error,
  });
}
