import { verifyCsrfToken } from '../core/csrf-token';
import { checkProvenance } from '../csrf/request-origin';
import { CsrfRejectedEvent } from '../events/session-event';
import { SessionContext } from '../lifecycle/session-context';
import { requestHeader, SessionRequest } from './client-request';

/** Why a request fails CSRF protection; `null` when it passes. */
export type CsrfRejection = CsrfRejectedEvent['reason'] | null;

/**
 * The synchronizer-token check: the header must carry a token of this very session (of the
 * visitor's pre-session when there is no session), so a cookie an attacker planted is never
 * compared with anything. `required: false` passes every request.
 */
export function tokenRejection(
  request: SessionRequest,
  context: SessionContext,
  header: string,
  required: boolean,
): CsrfRejection {
  if (!required) return null;
  const token = requestHeader(request, header);
  const secret = context.record
    ? context.record.csrfSecret
    : (context.preSession?.csrfSecret ?? null);
  if (verifyCsrfToken(token, secret)) return null;
  return token ? 'invalid-token' : 'missing-token';
}

/**
 * The whole check of a request that may change state: its provenance first (the browser's
 * `Sec-Fetch-Site` and `Origin` must not point to another site), then the token when `required`.
 */
export function csrfRejection(
  request: SessionRequest,
  context: SessionContext,
  csrf: { header: string; trustedOrigins: readonly string[] },
  tokenRequired: boolean,
): CsrfRejection {
  const origin = requestHeader(request, 'origin');
  // The request's own origin counts only when it sent an Origin to compare with it; reading
  // it costs (Express's `req.protocol` is a getter that consults the trust-proxy setting).
  const problem = checkProvenance(
    {
      secFetchSite: requestHeader(request, 'sec-fetch-site'),
      origin,
      host: origin === undefined ? undefined : requestHeader(request, 'host'),
      protocol: origin === undefined ? undefined : protocolOf(request),
    },
    csrf.trustedOrigins,
  );
  return problem ?? tokenRejection(request, context, csrf.header, tokenRequired);
}

/**
 * Express's `req.protocol` and Fastify's `request.protocol`: getters that follow
 * X-Forwarded-Proto only when the app trusts its proxy, read without importing either.
 */
function protocolOf(request: SessionRequest): string | undefined {
  const { protocol } = request as { protocol?: unknown };
  return typeof protocol === 'string' ? protocol : undefined;
}
