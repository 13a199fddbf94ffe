import { Logger, Module, OnModuleInit } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Clock, SystemClock } from './core/clock';
import { GuardRegistration } from './diagnostics/guard-registration';
import { SessionStartup } from './diagnostics/session-startup';
import { SessionGuard } from './http/session.guard';
import { ResponseHooks } from './http/response-hooks';
import { SessionSaver } from './http/session-saver';
import { SessionResponseHeaders } from './http/response-headers';
import { cookieTossingWarning } from './options/cookie-tossing';
import {
  resolveSessionOptions,
  type ResolvedSessionOptions,
} from './options/resolve-session-options';
import { InjectSessionOptions, RESOLVED_SESSION_OPTIONS } from './options/session-options.token';
import { SessionService } from './lifecycle/session.service';
import { CsrfService } from './csrf/csrf.service';
import { RememberMeRepository } from './storage/remember-me.repository';
import { RememberMeService } from './remember-me/remember-me.service';
import { SessionEvents } from './events/session-events';
import { StolenIdResponse } from './lifecycle/stolen-id-response';
import { SessionLoader } from './lifecycle/session-loader';
import { SessionRevoker } from './lifecycle/session-revoker';
import { ServerKey } from './lifecycle/server-key';
import { SessionWriter } from './lifecycle/session-writer';
import { TouchBatcher } from './lifecycle/touch-batcher';
import { ConfigurableSessionModule, SESSION_MODULE_OPTIONS } from './session.module-definition';
import { SessionGarbageCollector } from './storage/session-garbage-collector';
import { SessionRepository } from './storage/session.repository';
import { GatewayRules } from './sockets/gateway-rules';
import { LiveSignOut } from './sockets/live-sign-out';
import { SessionChangeListener } from './storage/session-change-listener';
import { SocketSessions } from './sockets/socket-sessions';

/**
 * Server-side sessions on PostgreSQL. Import it once with `forRoot()` or `forRootAsync()`,
 * next to `TypeOrmModule`, then register the `SessionGuard` (globally or per controller).
 * At start-up it checks its tables (a `SessionSetupError` when the migrations have not run)
 * and warns when no `SessionGuard` is registered. Beside the options, `repositories` binds
 * stores of the application's own in place of PostgreSQL (then without a TypeORM data source
 * when both are replaced).
 *
 * @example
 * @Module({
 *   imports: [
 *     TypeOrmModule.forRoot({ type: 'postgres', url, migrations: SESSION_MIGRATIONS, migrationsRun: true }),
 *     SessionModule.forRoot({ idleTimeout: '30m', absoluteTimeout: '12h' }),
 *   ],
 *   providers: [{ provide: APP_GUARD, useClass: SessionGuard }],
 * })
 * export class AppModule {}
 */
@Module({
  // DiscoveryService: the start-up check looks for SessionGuard on controllers and providers.
  imports: [DiscoveryModule],
  providers: [
    // The options are validated and their defaults applied once, when the module starts.
    {
      provide: RESOLVED_SESSION_OPTIONS,
      useFactory: resolveSessionOptions,
      inject: [SESSION_MODULE_OPTIONS],
    },
    { provide: Clock, useClass: SystemClock },
    SessionEvents,
    StolenIdResponse,
    SessionLoader,
    SessionWriter,
    TouchBatcher,
    SessionRevoker,
    ServerKey,
    SessionResponseHeaders,
    SessionService,
    SessionGuard,
    SessionGarbageCollector,
    CsrfService,
    RememberMeService,
    SessionSaver,
    ResponseHooks,
    GuardRegistration,
    SessionStartup,
    GatewayRules,
    SessionChangeListener,
    LiveSignOut,
    SocketSessions,
  ],
  exports: [
    RESOLVED_SESSION_OPTIONS,
    Clock,
    SessionEvents,
    SessionRepository,
    SessionLoader,
    SessionResponseHeaders,
    SessionService,
    SessionGuard,
    SessionGarbageCollector,
    CsrfService,
    RememberMeService,
    RememberMeRepository,
    SocketSessions,
  ],
})
export class SessionModule extends ConfigurableSessionModule implements OnModuleInit {
  private readonly logger = new Logger(SessionModule.name);

  constructor(@InjectSessionOptions() private readonly options: ResolvedSessionOptions) {
    super();
  }

  /** Start-up advice that is not an error: once per module instance, through Nest's logger. */
  onModuleInit(): void {
    const warning = cookieTossingWarning(this.options);
    if (warning) this.logger.warn(warning);
  }
}
