import { SessionUsageError } from '../core/errors';
import { RequestSlot } from '../core/request-slot';
import { SessionContext } from './session-context';
import { contextOf, Session } from './session';

/** The session of each request the guard saw. */
const sessions = new RequestSlot<Session<object>>('session');

/** Gives `request` (an Express or Fastify request, a socket message) its session. */
export function attachSessionContext(
  request: object,
  context: SessionContext,
  maxDataSize: number,
): void {
  sessions.set(request, new Session(context, maxDataSize));
}

/**
 * Gives a request the property its session will take, before the HTTP platform changes the
 * request's shape (see `RequestSlot.reserve`); optional, an unreserved request works the same.
 */
export function reserveSessionSlot(request: object): void {
  sessions.reserve(request);
}

export function sessionContextOf(request: object): SessionContext | undefined {
  const session = sessions.get(request);
  return session && contextOf(session);
}

/**
 * The session of a request that passed the `SessionGuard`; for code that has the request but
 * no decorator (middleware after the guard, GraphQL context factories).
 *
 * @example
 * const session = getSession(context.switchToHttp().getRequest());
 */
export function getSession<T extends object>(request: object): Session<T> {
  const session = sessions.get(request);
  if (!session) {
    throw new SessionUsageError(
      'No session on this request: the SessionGuard did not run for this route. Register it globally ({ provide: APP_GUARD, useClass: SessionGuard }) or add @UseGuards(SessionGuard).',
    );
  }
  return session as Session<T>;
}
