import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectSessionOptions } from '../options/session-options.token';
import type { ResolvedSessionOptions } from '../options/resolve-session-options';
import { ServerKey } from '../lifecycle/server-key';
import { dataSourceLabel, SessionStorageCheck } from '../storage/storage-check';
import { GuardRegistration } from './guard-registration';

/** Logged when no SessionGuard is registered anywhere (see {@link GuardRegistration}). */
export const MISSING_GUARD_WARNING = [
  'No SessionGuard is registered: routes are served without a session, and routes without',
  "@Public() are not protected. Register it globally, in a module's providers:",
  '{ provide: APP_GUARD, useClass: SessionGuard }, or per controller with @UseGuards(SessionGuard).',
  'If the application calls it in a way this check cannot see, set guardCheck: false in the',
  'SessionModule options to silence this warning.',
].join(' ');

/** Logged when the database did not answer the start-up check. */
function unreachableWarning(dataSource: string | undefined, reason: string): string {
  return (
    `The database of TypeORM data source "${dataSourceLabel(dataSource)}" could not be reached at ` +
    `start-up (${reason}), so the session tables were not checked. The application starts: ` +
    'requests that need the session store answer 503 session_store_unavailable until the ' +
    'database answers again, and the server key (anonymous CSRF tokens) is read then.'
  );
}

/**
 * The module's start-up, in order, once the application is initialised (so that migrations run
 * by TypeORM and guards added by `app.useGlobalGuards` are in place): the tables are checked
 * (missing ones stop the start), then the server key is read, then the guard registration is
 * looked for. Each problem is one message, through Nest's logger under `SessionModule`.
 */
@Injectable()
export class SessionStartup implements OnApplicationBootstrap {
  private readonly logger = new Logger('SessionModule');

  constructor(
    private readonly storage: SessionStorageCheck,
    private readonly serverKey: ServerKey,
    private readonly guards: GuardRegistration,
    @InjectSessionOptions() private readonly options: ResolvedSessionOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const readiness = await this.storage.verify();
    if (readiness.reachable) {
      await this.serverKey.loadAtStartUp();
    } else {
      this.logger.warn(unreachableWarning(this.storage.dataSourceName, readiness.reason));
    }
    if (this.options.guardCheck && this.guards.isMissing()) {
      this.logger.warn(MISSING_GUARD_WARNING);
    }
  }
}
