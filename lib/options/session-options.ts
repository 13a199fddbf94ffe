import { Duration } from '../core/duration';

/*
 * The options as users see them, with their documentation. Their defaults, rules and
 * resolution are in one row each of `session-options.table.ts`, which the compiler keeps in
 * step with these interfaces.
 */

export const DEFAULT_ROUTE_ACCESS = ['authenticated', 'public'] as const;
/** What a route requires when it carries neither `@Public()` nor `@Authenticated()`. */
export type DefaultRouteAccess = (typeof DEFAULT_ROUTE_ACCESS)[number];

export const SESSION_LIMIT_POLICIES = ['refuse', 'evict-least-recently-used'] as const;
/** What a login does when the user already has `maxSessionsPerUser` sessions. */
export type SessionLimitPolicy = (typeof SESSION_LIMIT_POLICIES)[number];

export const OBSOLETE_ACCESS_RESPONSES = ['revoke-all', 'deny'] as const;
/** What happens when an obsolete session ID is used after its grace period. */
export type ObsoleteAccessResponse = (typeof OBSOLETE_ACCESS_RESPONSES)[number];

export const SAME_SITE_VALUES = ['lax', 'strict', 'none'] as const;

/** Attributes of the session cookie. */
export interface SessionCookieOptions {
  /**
   * Cookie name. Default `'__Host-sid'` when `secure` is true, else `'sid'`. A `__Host-` name
   * requires `secure`, `path: '/'` and no `domain`; a `__Secure-` name requires `secure`.
   */
  name?: string;
  /**
   * The `Secure` attribute. Default `true`. Turn it off only for local development over plain
   * http; browsers then refuse `__Host-` and `__Secure-` names, so the default name becomes `sid`.
   */
  secure?: boolean;
  /** The `SameSite` attribute: `'lax'` (default), `'strict'` or `'none'` (requires `secure`). */
  sameSite?: (typeof SAME_SITE_VALUES)[number];
  /** The `Domain` attribute. Default: none (host-only cookie). Not allowed with `__Host-`. */
  domain?: string;
  /** The `Path` attribute. Default `'/'`. Must be `'/'` with `__Host-`. */
  path?: string;
}

/** CSRF protection of unsafe methods (all but GET, HEAD, OPTIONS, TRACE). */
export interface SessionCsrfOptions {
  /** Default `true`. Turn off only when another mechanism protects every unsafe route. */
  enabled?: boolean;
  /** Request header that carries the token. Default `'x-csrf-token'`. */
  header?: string;
  /**
   * Origins (scheme://host[:port]) allowed besides the request's own host, for example a
   * front end on a sibling subdomain. Default: none.
   */
  trustedOrigins?: string[];
}

/** Remember-me ("stay signed in") tokens, issued per login by `RememberMeService.issue`. */
export interface SessionRememberMeOptions {
  /**
   * Cookie name. Default `'__Host-remember'` when `cookie.secure` is true, else `'remember'`.
   * The other attributes are those of the session cookie, plus `Max-Age`.
   */
  cookieName?: string;
  /** Lifetime of a remembered device since its last use. Default `'30d'`. */
  lifetime?: Duration;
}

/**
 * The in-process session cache: a read that finds a fresh copy of a live session sends no SQL.
 * PostgreSQL tells every instance of every change (migration
 * `SessionChangedNotification1764000000005`, `LISTEN` on one connection per instance), and each
 * drops its copy; while that connection is down the cache is not used at all.
 */
export interface SessionCacheOptions {
  /**
   * Default `true`. The cache is used only with the package's PostgreSQL repository, while its
   * listening connection is up (see `listenConnection`); otherwise every read goes to the
   * database, as with `false`.
   */
  enabled?: boolean;
  /** Sessions kept at most (the least recently used go first). Default `10000`. */
  maxEntries?: number;
  /** Bytes of session data (as JSON) kept at most. Default `33554432` (32 MiB). */
  maxBytes?: number;
  /**
   * The longest a copy is used, however quiet the notifications: the bound on a notification
   * lost without the connection failing. Default `'5s'`, at most `'1m'`.
   */
  maxAge?: Duration;
}

/**
 * Noticing ID guessing (R19): many unknown or malformed session IDs from one client address
 * within a window produce a `session.id_guessing` event (once per window), and optionally a 429.
 */
export interface SessionIdGuessingOptions {
  /** Unknown or malformed IDs from one address that count as guessing. Default `20`. */
  threshold?: number;
  /** The counting window. Default `'1m'`. */
  window?: Duration;
  /**
   * Refuse, for the rest of the window, every request of that address that carries a session
   * cookie (429 `session_id_guessing`, before any query). Default `false`: clients behind one
   * NAT share an address.
   */
  block?: boolean;
}

/**
 * Options of `SessionModule.forRoot()` and of the factory of `forRootAsync()`. Durations are
 * milliseconds or strings such as `'90s'`, `'30m'`, `'12h'`, `'1d'`.
 */
export interface SessionModuleOptions {
  /** Cookie attributes. Defaults: `__Host-sid`, HttpOnly, Secure, SameSite=Lax, Path=/, no Max-Age. */
  cookie?: SessionCookieOptions;
  /** Inactivity after which a session ends. Default `'30m'`. */
  idleTimeout?: Duration;
  /** Lifetime of a session since its last authentication (or creation). Default `'12h'`. */
  absoluteTimeout?: Duration;
  /**
   * Minimum time between two writes of `last_seen_at` by requests that change nothing.
   * Default `'60s'`; capped at a tenth of `idleTimeout`.
   */
  touchInterval?: Duration;
  /**
   * How long a regenerated (obsolete) ID is still recognised as a real client's rather than an
   * attacker's: after a same-user regeneration it is served as its successor (see
   * `obsoleteInFlightLeeway`), after a sign-in it is answered as anonymous. Default `'60s'`,
   * at most `'15m'`.
   */
  obsoleteGracePeriod?: Duration;
  /**
   * Once a client has presented the successor of a same-user regeneration (rotation,
   * privilege change), how long requests still carrying the old ID (already in flight) are
   * served; later ones get the attack response. Default `'5s'`, at most `'30s'` and at most
   * `obsoleteGracePeriod`.
   */
  obsoleteInFlightLeeway?: Duration;
  /** How long obsolete rows are kept so late access is recognised. Default `'1d'`. */
  obsoleteRetention?: Duration;
  /**
   * Response to the use of an obsolete ID after the grace period: `'revoke-all'` (default) ends
   * every session of the user; `'deny'` only refuses the request.
   */
  onObsoleteAccess?: ObsoleteAccessResponse;
  /**
   * Periodic regeneration of active sessions. Default `'15m'`; `0` or `false` turns it off
   * (for deployments where the ID is a stable contract shared with another backend).
   */
  rotationInterval?: Duration | false;
  /** Regenerate the ID on every request that changes session data. Default `false`. */
  regenerateOnWrite?: boolean;
  /** Largest session data, in bytes of its JSON text. Default `8192` (8 KiB). */
  maxDataSize?: number;
  /** Remember-me tokens. Default: cookie `__Host-remember`, lifetime 30 days. */
  rememberMe?: SessionRememberMeOptions;
  /** ID-guessing detection. Default: 20 unknown IDs per address per minute, event only. */
  idGuessing?: SessionIdGuessingOptions;
  /** CSRF protection. Default: on, header `x-csrf-token`, no extra trusted origins. */
  csrf?: SessionCsrfOptions;
  /** Most sessions one user may have at once. Default: no limit. */
  maxSessionsPerUser?: number;
  /**
   * At the limit, a new login is refused (403 `session_limit_reached`) or evicts the least
   * recently used session. Default `'evict-least-recently-used'`.
   */
  sessionLimitPolicy?: SessionLimitPolicy;
  /**
   * Interval of the garbage collection of expired, obsolete and revoked rows (with up to 10%
   * jitter). Default `'10m'`; `0` or `false` turns the timer off (run `SessionGarbageCollector`
   * yourself, for example from cron).
   */
  gcInterval?: Duration | false;
  /** Rows deleted per garbage-collection statement. Default `1000`. */
  gcBatchSize?: number;
  /**
   * What a route without `@Public()` or `@Authenticated()` requires under the guard.
   * Default `'authenticated'` (deny unless a route opts out).
   */
  defaultAccess?: DefaultRouteAccess;
  /**
   * Send the package's statements as named prepared statements, so PostgreSQL parses and
   * plans each once per connection. Default `true`; set `false` behind a pooler that cannot
   * keep them (PgBouncer in transaction mode before 1.21, or without
   * `max_prepared_statements`).
   */
  preparedStatements?: boolean;
  /**
   * Write the session changes of requests that reach the store together (in one turn of the
   * event loop) as one `UPDATE` of many rows, committed once: group commit. Each request is
   * still answered only after its change committed. Default `true`; set `false` to send one
   * statement per write (on a sharded database, say, where one statement over many sessions
   * spans shards).
   */
  batchWrites?: boolean;
  /**
   * A PostgreSQL connection string for the one connection each instance keeps open to hear of
   * ended sessions (`LISTEN`), so that open WebSockets of a session that ends on any instance are
   * closed. Default: none, the connection settings of the module's data source. Set it when that
   * data source goes through a pooler in transaction mode (PgBouncer), where `LISTEN` does not
   * work: give a direct (or session-mode) address of the same database. It is used as it is, so
   * it carries every setting (user, password, database, `sslmode`).
   */
  listenConnection?: string;
  /** The in-process session cache (on by default). */
  cache?: SessionCacheOptions;
  /**
   * Warn at start-up when no `SessionGuard` is registered anywhere (`APP_GUARD`,
   * `app.useGlobalGuards`, `@UseGuards` on a controller or handler, subclasses included).
   * Default `true`; set `false` when the application runs the guard in a way the check cannot
   * see (for example from a guard of its own).
   */
  guardCheck?: boolean;
}

/** Options that shape the module graph; given beside `forRoot`/`forRootAsync`, never from a factory. */
export interface SessionModuleExtras {
  /** Register the module globally. Default `false`. */
  isGlobal?: boolean;
  /** Name of the `@nestjs/typeorm` data source that holds the `session` table. Default: the default one. */
  dataSource?: string;
}
