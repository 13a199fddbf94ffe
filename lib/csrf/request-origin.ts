import { RecentResults } from '../core/recent-results';

/** What the browser says about where an unsafe request comes from, and where it arrived. */
export interface RequestProvenance {
  /**
   * `Sec-Fetch-Site` as received: `same-origin`, `same-site`, `cross-site` or `none`. Several
   * headers arrive joined (`same-origin, cross-site`).
   */
  secFetchSite?: string;
  /** `Origin` as sent (`null` is a string a browser sends for opaque origins). */
  origin?: string;
  /** `Host` of the request, which the application serves (with its port, if any). */
  host?: string;
  /**
   * The scheme the client used, as the platform gives it: Express `req.protocol` and Fastify
   * `request.protocol`, which follow `X-Forwarded-Proto` when the app trusts its proxy.
   */
  protocol?: string;
}

/** Why a request's provenance was refused; `null` when it is acceptable. */
export type ProvenanceProblem =
  'cross-site' | 'same-site' | 'null-origin' | 'foreign-origin' | null;

type FetchSite = 'same-origin' | 'same-site' | 'cross-site' | 'none';
const FETCH_SITES: ReadonlySet<string> = new Set<FetchSite>([
  'same-origin',
  'same-site',
  'cross-site',
  'none',
]);

/**
 * The request's `Sec-Fetch-Site`, if any: exactly one known token (in any case), or else
 * `cross-site`. A browser sends one of the four; several headers (Node joins them with a comma),
 * an empty or an unknown value are not a browser's word, and count as the worst case.
 */
function fetchSiteOf(value: string | undefined): FetchSite | undefined {
  if (value === undefined) return undefined;
  const site = value.toLowerCase();
  return FETCH_SITES.has(site) ? (site as FetchSite) : 'cross-site';
}

function parse(value: string): URL | null {
  try {
    return new URL(value);
  } catch {
    return null;
  }
}

/**
 * An `Origin` header as a browser serialises it (RFC 6454): `http` or `https`, a host, a port
 * only when it is not the scheme's default, and nothing else (no user info, path, query or
 * fragment). Returned in lower case; `null` for anything else, so `http://evil@host` or
 * `https://host/` never match an origin they seem to name.
 */
export function serializedOrigin(value: string): string | null {
  return serializedOrigins.of(value);
}

const serializedOrigins = new RecentResults(serializeOrigin);

function serializeOrigin(value: string): string | null {
  const url = parse(value);
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) return null;
  return url.origin === value.toLowerCase() ? url.origin : null;
}

/**
 * The origin the request was sent to: the platform's scheme and the `Host` header (a host and
 * an optional port, nothing else). `null` when either is missing or malformed: then only a
 * trusted origin can pass.
 */
export function ownOrigin(protocol: string | undefined, host: string | undefined): string | null {
  if ((protocol !== 'http' && protocol !== 'https') || !host) return null;
  return ownOrigins[protocol].of(host);
}

/** The origins of the hosts seen lately, per scheme (no key string to build per request). */
const ownOrigins = {
  http: new RecentResults((host) => originOfHost('http', host)),
  https: new RecentResults((host) => originOfHost('https', host)),
};

function originOfHost(protocol: 'http' | 'https', host: string): string | null {
  const url = parse(`${protocol}://${host}`);
  if (!url || url.username || url.password || url.pathname !== '/' || url.search || url.hash)
    return null;
  // `new URL` drops what follows the host (`host/path`, `host?q`, `host#f`) and a default port.
  const authority = host.toLowerCase();
  const defaultPort = protocol === 'https' ? ':443' : ':80';
  return url.host === authority || `${url.host}${defaultPort}` === authority ? url.origin : null;
}

/**
 * A configured trusted origin in the form browsers send (`https://App.example.com:443` becomes
 * `https://app.example.com`); `null` for an entry that is not an http(s) origin.
 */
function configuredOrigin(entry: string): string | null {
  const url = parse(entry);
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) return null;
  if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) return null;
  return url.origin;
}

/** The trusted origins of each option array, serialised once (the options do not change). */
const trustedSets = new WeakMap<readonly string[], ReadonlySet<string>>();

function trustedSetOf(trustedOrigins: readonly string[]): ReadonlySet<string> {
  let set = trustedSets.get(trustedOrigins);
  if (!set) {
    set = new Set(
      trustedOrigins.map(configuredOrigin).filter((origin): origin is string => origin !== null),
    );
    trustedSets.set(trustedOrigins, set);
  }
  return set;
}

/**
 * Fetch-Metadata and Origin checks for an unsafe request. A browser marks a request from
 * another site with `Sec-Fetch-Site: cross-site` (refused even with a valid token), one from a
 * sibling subdomain with `same-site` (refused unless its Origin is trusted); any other value
 * than exactly one of the four tokens counts as `cross-site`. A browser sends `Origin` on every
 * unsafe request: it must be a serialised origin equal, in scheme, host and port, to the
 * request's own origin (`protocol` and `host`) or to one of `trustedOrigins`; the opaque `null`
 * and anything with user info, a path or a default port written out are refused. Requests
 * without these headers (non-browser clients, old browsers) are left to the token check.
 */
export function checkProvenance(
  request: RequestProvenance,
  trustedOrigins: readonly string[],
): ProvenanceProblem {
  const origin = request.origin === undefined ? undefined : serializedOrigin(request.origin);
  const trusted =
    origin !== undefined && origin !== null && trustedSetOf(trustedOrigins).has(origin);
  const site = fetchSiteOf(request.secFetchSite);
  if (site === 'cross-site' && !trusted) return 'cross-site';
  if (site === 'same-site' && !trusted) return 'same-site';
  if (request.origin === undefined) return null;
  if (request.origin === 'null') return 'null-origin';
  if (trusted) return null;
  return origin !== null && origin === ownOrigin(request.protocol, request.host)
    ? null
    : 'foreign-origin';
}
