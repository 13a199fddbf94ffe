import type { UnstorableSessionDataError } from '../core/json-value';
import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  HttpException,
  IntrinsicException,
  PayloadTooLargeException,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';

/**
 * The stable `code` in the body of every denial. Clients and tests match on it; the wording
 * of `message` may change.
 */
export const SessionDenialCode = {
  /** The route needs an authenticated session and the request has none. */
  Required: 'session_required',
  /** The session passed its idle timeout. */
  IdleExpired: 'session_idle_expired',
  /** The session passed its absolute timeout. */
  AbsoluteExpired: 'session_absolute_expired',
  /** An ID replaced by regeneration was used after its grace period. */
  Obsolete: 'session_obsolete',
  /** The session was ended (logout, revocation) while the request was running. */
  Ended: 'session_ended',
  /** The session was revoked from the device list, by "sign out everywhere" or by the attack response. */
  Revoked: 'session_revoked',
  /** A new login was refused because the user has `maxSessionsPerUser` sessions. */
  LimitReached: 'session_limit_reached',
  /** The route needs a more recent interactive authentication. */
  ReauthRequired: 'reauth_required',
  /** A used or wrong validator for a known remember-me selector: likely a stolen cookie. */
  RememberMeTheft: 'remember_me_theft',
  /** An unsafe request without a valid CSRF token for its session. */
  CsrfTokenInvalid: 'csrf_token_invalid',
  /** An unsafe request from another site (Fetch-Metadata) or a foreign or `null` Origin. */
  CsrfOriginRejected: 'csrf_origin_rejected',
  /** This address presented too many unknown session IDs (with `idGuessing.block`). */
  IdGuessing: 'session_id_guessing',
  /** The session kept changing under concurrent regenerations; retry the request. */
  Busy: 'session_busy',
  /**
   * The request read a key and set it, and another request changed that key meanwhile: nothing
   * of this request was saved (read again and retry, or use `session.update`).
   */
  Conflict: 'session_conflict',
  /** The session store (database) cannot be reached. */
  StoreUnavailable: 'session_store_unavailable',
  /** Session data would exceed `maxDataSize`. */
  DataTooLarge: 'session_data_too_large',
  /**
   * `session.set` or `update` was given a key or value that is valid JSON but that the session
   * refuses to store: NUL, an unpaired surrogate, or nesting deeper than `MAX_SESSION_DATA_DEPTH`.
   */
  DataInvalid: 'session_data_invalid',
  /**
   * The `SessionGuard` met a handler that is not `@Public()` where no session can be loaded: a
   * microservice (RPC) handler, a GraphQL operation without an HTTP request, or a WebSocket
   * message without the package's socket adapter. The guard fails closed.
   */
  ContextUnsupported: 'session_context_unsupported',
} as const;

export type SessionDenialCode = (typeof SessionDenialCode)[keyof typeof SessionDenialCode];

/** 401 from the session guard or the save after the handler; the body carries `code`. */
export class SessionUnauthorizedException extends UnauthorizedException {
  constructor(
    readonly code: SessionDenialCode,
    message: string,
  ) {
    super({ statusCode: 401, error: 'Unauthorized', code, message });
  }
}

/** 403 from a session rule (for example freshness); the body carries `code`. */
export class SessionForbiddenException extends ForbiddenException {
  constructor(
    readonly code: SessionDenialCode,
    message: string,
  ) {
    super({ statusCode: 403, error: 'Forbidden', code, message });
  }
}

/**
 * 403 from the `SessionGuard` for a handler outside HTTP (`graphql`, `ws`, `rpc`, ...) that is
 * not public: sessions are not supported there yet, and the guard never lets such a handler run
 * unauthenticated by accident. `contextType` is `ExecutionContext.getType()`.
 *
 * @example
 * // a GraphQL resolver method that needs no session runs under the global guard:
 * @Public()
 * @Query(() => [Product])
 * products() { ... }
 */
export class SessionContextUnsupportedException extends SessionForbiddenException {
  constructor(
    readonly contextType: string,
    handler?: string,
  ) {
    super(
      SessionDenialCode.ContextUnsupported,
      `No session can be loaded for ${handler ?? 'this handler'} in the "${contextType}" ` +
        `context (a microservice, a GraphQL operation without an HTTP request, or a WebSocket ` +
        `gateway without SessionWebSocketAdapter), so the SessionGuard refuses it. Mark a ` +
        `handler that needs no session @Public().`,
    );
  }
}

/**
 * A denial of the `SessionGuard` on a GraphQL resolver: the same `code`, message and status as
 * over REST, in the form GraphQL servers answer with. graphql-js copies the `extensions` of an
 * error a resolver throws into the GraphQL error, so the response carries `extensions.code`.
 * It is deliberately not an `HttpException`: @nestjs/apollo would rewrite the `code` of one
 * into its own `UNAUTHENTICATED` or `FORBIDDEN`. `extensions.http.status` is how Apollo Server
 * sets the HTTP status (which @nestjs/apollo resets to 200 unless
 * `preserveHttpStatusForExecutionErrors: false`), `statusCode` how Mercurius does (when the
 * whole `data` is `null`). An `IntrinsicException`, so Nest does not log it as an error.
 *
 * @example
 * // Apollo's formatError, to tell session denials apart:
 * formatError: (formatted, error) =>
 *   unwrapResolverError(error) instanceof SessionGraphQLException ? formatted : mask(formatted),
 */
export class SessionGraphQLException extends IntrinsicException {
  readonly extensions: { code: SessionDenialCode; http: { status: number } };

  constructor(
    readonly code: SessionDenialCode,
    message: string,
    /** The status the same denial has over REST (401, 403, 503, ...). */
    readonly statusCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SessionGraphQLException';
    this.extensions = { code, http: { status: statusCode } };
  }
}

/** 409 `session_conflict`: a read-then-set lost to a concurrent change of the same key. */
export class SessionConflictException extends ConflictException {
  readonly code = SessionDenialCode.Conflict;

  constructor(readonly keys: string[]) {
    super({
      statusCode: 409,
      error: 'Conflict',
      code: SessionDenialCode.Conflict,
      message:
        'Another request changed the session data this request read; nothing was saved. Retry the request.',
    });
  }
}

/** 409 when a write kept losing races with concurrent regenerations; the session is intact. */
export class SessionBusyException extends ConflictException {
  readonly code = SessionDenialCode.Busy;

  constructor() {
    super({
      statusCode: 409,
      error: 'Conflict',
      code: SessionDenialCode.Busy,
      message: 'The session changed concurrently; retry the request.',
    });
  }
}

/** 429 for an address that guesses session IDs, with `idGuessing.block`. */
export class SessionIdGuessingException extends HttpException {
  readonly code = SessionDenialCode.IdGuessing;

  constructor() {
    super(
      {
        statusCode: 429,
        error: 'Too Many Requests',
        code: SessionDenialCode.IdGuessing,
        message: 'Too many unknown session IDs from this address; try again later.',
      },
      429,
    );
  }
}

/** 503 when the session store cannot be reached: fail closed, never anonymous by accident. */
export class SessionStoreUnavailableException extends ServiceUnavailableException {
  readonly code = SessionDenialCode.StoreUnavailable;

  constructor(options?: { cause?: unknown }) {
    super(
      {
        statusCode: 503,
        error: 'Service Unavailable',
        code: SessionDenialCode.StoreUnavailable,
        message: 'The session store is unavailable; try again shortly.',
      },
      options,
    );
  }
}

/**
 * The session store (the database) failed a statement. It is the 503 answer itself, so it
 * fails closed wherever it surfaces: in the guard, in a handler calling `SessionService`, or
 * while the session is saved. The body stays generic; `message` and `cause` carry the
 * driver's error for logs.
 */
export class SessionStoreError extends SessionStoreUnavailableException {
  constructor(detail: string, options: { cause: unknown }) {
    super(options);
    this.name = 'SessionStoreError';
    this.message = `Session store statement failed: ${detail}`;
  }
}

/** 413 when a write would make the session data larger than `maxDataSize`. */
export class SessionDataTooLargeException extends PayloadTooLargeException {
  readonly code = SessionDenialCode.DataTooLarge;

  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super({
      statusCode: 413,
      error: 'Payload Too Large',
      code: SessionDenialCode.DataTooLarge,
      message: `Session data would be ${size} bytes, over the limit of ${limit} bytes (maxDataSize).`,
    });
  }
}

const DATA_INVALID_MESSAGES: Record<UnstorableSessionDataError['rule'], string> = {
  nul: 'Session data cannot contain NUL characters (U+0000).',
  unpaired_surrogate: 'Session data must be well-formed Unicode (no unpaired surrogates).',
  too_deep: 'Session data cannot nest arrays and objects this deep.',
};

/**
 * 400 when `session.set` or `update` is given a key or value a client could have sent but the
 * session refuses to store (see `UnstorableSessionDataError`). The session is unchanged and
 * nothing reaches the database. The body says which rule was broken, never the value; the
 * `cause` keeps the path for logs.
 */
export class SessionDataInvalidException extends BadRequestException {
  readonly code = SessionDenialCode.DataInvalid;
  readonly rule: UnstorableSessionDataError['rule'];

  constructor(cause: UnstorableSessionDataError) {
    super(
      {
        statusCode: 400,
        error: 'Bad Request',
        code: SessionDenialCode.DataInvalid,
        message: DATA_INVALID_MESSAGES[cause.rule],
      },
      { cause },
    );
    this.rule = cause.rule;
  }
}
