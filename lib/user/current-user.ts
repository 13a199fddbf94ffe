import { SessionUsageError } from '../core/errors';
import { RequestSlot } from '../core/request-slot';
import { getSession } from '../lifecycle/session-request';

/**
 * The user the guard loaded for each request (`null`: anonymous, or the user is gone), kept
 * apart from `req.user`, which Passport or the app may set to something else.
 */
const users = new RequestSlot<unknown>('user');

/** Records the request's user, and sets `req.user` unless something (Passport) set it already. */
export function setCurrentUser(request: object, user: unknown): void {
  users.set(request, user);
  const carrier = request as { user?: unknown };
  if (user !== null && carrier.user === undefined) carrier.user = user;
}

/**
 * The user of the request's session as the app's `SessionUserLoader` loaded it when the
 * request arrived, or `null` for an anonymous session; for code that has the request but no
 * decorator. Throws `SessionUsageError` when the guard did not run or no loader is provided.
 *
 * @example
 * const user = getCurrentUser<User>(context.switchToHttp().getRequest());
 */
export function getCurrentUser<User>(request: object): User | null {
  if (users.has(request)) return users.get(request) as User | null;
  getSession(request); // throws when the SessionGuard did not run for this route
  throw new SessionUsageError(
    'No user was loaded for this request: provide a SessionUserLoader in one of your modules ({ provide: SessionUserLoader, useClass: UsersLoader }) so that the SessionGuard can load the user of each signed-in session.',
  );
}
