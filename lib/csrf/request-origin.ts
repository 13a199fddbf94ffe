/** What the browser says about where an unsafe request comes from. */
export interface RequestProvenance {
  /** `Sec-Fetch-Site`: `same-origin`, `same-site`, `cross-site` or `none`. */
  secFetchSite?: string;
  /** `Origin` as sent (`null` is a string a browser sends for opaque origins). */
  origin?: string;
  /** `Host` of the request, which the application serves. */
  host?: string;
}

/** Why a request's provenance was refused; `null` when it is acceptable. */
export type ProvenanceProblem =
  'cross-site' | 'same-site' | 'null-origin' | 'foreign-origin' | null;

function hostOf(origin: string): string | null {
  try {
    return new URL(origin).host;
  } catch {
    return null;
  }
}

/**
 * Fetch-Metadata and Origin checks for an unsafe request. A browser marks a request from
 * another site with `Sec-Fetch-Site: cross-site` (refused even with a valid token), one from a
 * sibling subdomain with `same-site` (refused unless its Origin is trusted), and sends `Origin`
 * on every unsafe request: it must be this host or a trusted origin; the opaque `null` is
 * refused. Requests without these headers (non-browser clients, old browsers) are left to the
 * token check.
 */
export function checkProvenance(
  request: RequestProvenance,
  trustedOrigins: readonly string[],
): ProvenanceProblem {
  const origin = request.origin;
  const trusted = origin !== undefined && trustedOrigins.includes(origin);
  const site = request.secFetchSite?.toLowerCase();
  if (site === 'cross-site' && !trusted) return 'cross-site';
  if (site === 'same-site' && !trusted) return 'same-site';
  if (origin === undefined) return null;
  if (origin === 'null') return 'null-origin';
  if (trusted) return null;
  const host = hostOf(origin);
  return host !== null && host === request.host?.toLowerCase() ? null : 'foreign-origin';
}
