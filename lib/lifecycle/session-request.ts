import { SessionUsageError } from '../core/errors';
import { EventRequestInfo } from '../events/session-event';
import { SessionContext } from './session-context';
import { contextOf, Session } from './session';

/**
 * The session of each request the guard saw. A WeakMap rather than a property: adding a
 * property to Express's request objects measured over twice as slow.
 */
const sessions = new WeakMap<object, Session<object>>();

const MAX_USER_AGENT = 512;

/** The parts of an Express or Fastify request this package reads. */
export interface SessionRequest {
  headers: Record<string, string | string[] | undefined>;
  method?: string;
  ip?: string;
}

/** The client's address (as the platform's trust-proxy setting gives it) and user agent. */
export function clientInfo(request: SessionRequest): EventRequestInfo {
  const agent = request.headers['user-agent'];
  return {
    ip: request.ip ?? null,
    userAgent: typeof agent === 'string' ? agent.slice(0, MAX_USER_AGENT) : null,
  };
}

export function attachSessionContext(
  request: SessionRequest,
  context: SessionContext,
  maxDataSize: number,
): void {
  sessions.set(request, new Session(context, maxDataSize));
}

export function sessionContextOf(request: SessionRequest): SessionContext | undefined {
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
