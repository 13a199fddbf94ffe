import { EventRequestInfo } from '../events/session-event';

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

/**
 * A request header as one string. Repeated headers are joined with a comma, as Node does for
 * most headers, so that a second `Sec-Fetch-Site` or token header is seen rather than dropped.
 */
export function requestHeader(request: SessionRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
