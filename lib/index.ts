export { SessionModule } from './session.module';
export { SESSION_OPTIONS_TYPE, SESSION_ASYNC_OPTIONS_TYPE } from './session.module-definition';
export type {
  SessionModuleOptions,
  SessionModuleExtras,
  SessionCookieOptions,
  SessionCsrfOptions,
  SessionRememberMeOptions,
  SessionIdGuessingOptions,
  DefaultRouteAccess,
  ObsoleteAccessResponse,
  SessionLimitPolicy,
} from './options/session-options';
export { SESSION_OPTION_DEFAULTS } from './options/session-options.table';
export type {
  ResolvedSessionOptions,
  ResolvedCookieOptions,
} from './options/resolve-session-options';
export { InjectSessionOptions } from './options/session-options.token';

export { Clock, SystemClock, ManualClock } from './core/clock';
export type { Duration } from './core/duration';
export type { JsonValue, UnstorableSessionDataRule } from './core/json-value';
export { MAX_SESSION_DATA_DEPTH, UnstorableSessionDataError } from './core/json-value';
export type { SessionRecord } from './core/session-record';
export type { RegenerationPurpose } from './core/obsolete-id-policy';
export {
  SessionModuleError,
  SessionOptionsError,
  SessionDataError,
  SessionUsageError,
  SessionSetupError,
  SessionPlatformError,
} from './core/errors';

export { Session, type SessionData, type SessionDataShape } from './lifecycle/session';
export { SessionService, type SessionSummary } from './lifecycle/session.service';
export { SessionGarbageCollector } from './storage/session-garbage-collector';
export { describeDevice } from './core/device-summary';
export { SessionEvents, type SessionEventListener } from './events/session-events';
export type * from './events/session-event';

export { SessionGuard } from './http/session.guard';
export {
  SessionWebSocketAdapter,
  SESSION_CLOSE_CODE,
  type SessionWebSocketAdapterOptions,
} from './sockets/session-web-socket-adapter';
export { getSession } from './lifecycle/session-request';
export {
  SessionDenialCode,
  SessionUnauthorizedException,
  SessionForbiddenException,
  SessionStoreUnavailableException,
  SessionStoreError,
  SessionBusyException,
  SessionConflictException,
  SessionIdGuessingException,
  SessionDataTooLargeException,
  SessionDataInvalidException,
  SessionContextUnsupportedException,
  SessionGraphQLException,
} from './errors/session.exceptions';

export { Public, Authenticated, SESSION_ACCESS_KEY } from './decorators/route-access.decorators';
export { SkipCsrf, CsrfToken, SKIP_CSRF_KEY } from './decorators/csrf.decorators';
export { RequireFreshAuth, FRESH_AUTH_KEY } from './decorators/fresh-auth.decorator';
export { CsrfService } from './csrf/csrf.service';
export { RememberMeService, type RememberedDevice } from './remember-me/remember-me.service';
export {
  RememberMeRepository,
  type RememberMeRecord,
  type NewRememberMe,
  type RememberMeRotation,
} from './storage/remember-me.repository';
export { PostgresRememberMeRepository } from './storage/postgres-remember-me.repository';
export { RememberMeTokenEntity } from './storage/remember-me-token.entity';
export { CurrentSession, CurrentUserId, CurrentUser } from './decorators/session-param.decorators';
export { SessionUserLoader } from './user/session-user-loader';
export { getCurrentUser } from './user/current-user';

export { SessionEntity } from './storage/session.entity';
export { SessionServerKeyEntity } from './storage/server-key.entity';
export {
  SESSION_MIGRATIONS,
  CreateSessionTable1764000000000,
  CreateRememberMeTable1764000000001,
  SessionRegenerationColumns1764000000002,
  CreateServerKeyTable1764000000003,
  SessionEndedNotification1764000000004,
  SessionChangedNotification1764000000005,
} from './storage/migrations';
export {
  SessionRepository,
  type DataChange,
  type NewSession,
  type SessionUpdate,
  type SessionTouch,
  type Regeneration,
  type RevocationScope,
} from './storage/session.repository';
export { PostgresSessionRepository } from './storage/postgres-session.repository';
export { SessionCache } from './storage/session-cache';
export type { SessionRepositories, RepositoryBinding } from './storage/repository-bindings';
export { hashToken } from './core/session-token';
