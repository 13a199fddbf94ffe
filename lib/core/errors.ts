/**
 * Base class of the errors this package throws for configuration and programming mistakes
 * (as opposed to HTTP denials, which are `HttpException`s with a `code`).
 */
export class SessionModuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = this.constructor.name;
  }
}

/** A module option is missing, of the wrong type or out of range. */
export class SessionOptionsError extends SessionModuleError {}

/**
 * The session store (the database) failed a statement. The guard and interceptor answer it
 * with 503 `session_store_unavailable`; the original error is the `cause`.
 */
export class SessionStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = this.constructor.name;
  }
}

/** A value given to `session.set()` cannot be stored as JSON. */
export class SessionDataError extends SessionModuleError {}

/** The session was used where the package cannot support it (for example without the guard). */
export class SessionUsageError extends SessionModuleError {}
