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

/** A value given to `session.set()` cannot be stored as JSON. */
export class SessionDataError extends SessionModuleError {}

/** The session was used where the package cannot support it (for example without the guard). */
export class SessionUsageError extends SessionModuleError {}

/**
 * The application does not give the module what it needs to run: a TypeORM data source of the
 * configured name, or the package's tables on it (the migrations were not run). Thrown at
 * start-up; the message says what to add where.
 */
export class SessionSetupError extends SessionModuleError {}

/**
 * The application serves HTTP through an adapter the package cannot hook into (neither
 * Express nor Fastify): its sessions would never be saved. Thrown at start-up.
 */
export class SessionPlatformError extends SessionModuleError {}
