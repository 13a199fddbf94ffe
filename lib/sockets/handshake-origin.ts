import { checkProvenance, ProvenanceProblem, serializedOrigin } from '../csrf/request-origin';

/** The headers of a WebSocket handshake that tell where it comes from. */
export interface HandshakeHeaders {
  origin?: string;
  host?: string;
  secFetchSite?: string;
}

/**
 * Cross-site WebSocket hijacking: a page of another site may open a socket to the app, and the
 * browser sends the app's cookie with the handshake, so a handshake whose `Origin` is another
 * site (or `Sec-Fetch-Site` says so) is refused, as an unsafe request would be. The handshake
 * carries no scheme the app can trust behind a TLS-terminating proxy, so the `Origin` is
 * compared by host and port (with its own scheme): a page served from the app's own host over
 * the other scheme can only come from someone who controls that host already. Clients that send
 * no `Origin` (not a browser) are not refused here.
 */
export function handshakeOriginProblem(
  headers: HandshakeHeaders,
  trustedOrigins: readonly string[],
): ProvenanceProblem {
  const origin = headers.origin === undefined ? null : serializedOrigin(headers.origin);
  const protocol = origin?.startsWith('https:') ? 'https' : 'http';
  return checkProvenance(
    { origin: headers.origin, host: headers.host, secFetchSite: headers.secFetchSite, protocol },
    trustedOrigins,
  );
}
