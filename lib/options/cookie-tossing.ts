import type { ResolvedCookieOptions } from './resolve-session-options';

/** The cookies of the module whose names the start-up check reads. */
export interface ModuleCookies {
  cookie: ResolvedCookieOptions;
  rememberMe: { cookie: ResolvedCookieOptions };
}

/**
 * True when the browser keeps cookies of this name out unless this very host set them with
 * `Secure` and `Path=/`: the `__Host-` prefix (matched without regard to case, as the option
 * validation and current browsers do).
 */
function isHostPrefixed(cookie: ResolvedCookieOptions): boolean {
  return cookie.name.toLowerCase().startsWith('__host-');
}

/**
 * The start-up warning about cookie tossing, or `null` when there is nothing to warn about.
 *
 * With `cookie.secure` (HTTPS) every cookie of the module could carry the `__Host-` prefix. One
 * that does not (`sid`, `__Secure-sid`, or any name given with a `domain`) can be shadowed: a
 * sibling subdomain, or a plain-http page of the same domain, sets a cookie of the same name
 * (with `Domain` or a longer `Path`) and the browser sends both, the planted one possibly first.
 * Without `secure` (local http development) `__Host-` is impossible and nothing is said.
 */
export function cookieTossingWarning(options: ModuleCookies): string | null {
  if (!options.cookie.secure) return null;
  const exposed = [
    { option: 'cookie.name', cookie: options.cookie },
    { option: 'rememberMe.cookieName', cookie: options.rememberMe.cookie },
  ].filter(({ cookie }) => !isHostPrefixed(cookie));
  if (exposed.length === 0) return null;
  const names = exposed.map(({ option, cookie }) => `${option} "${cookie.name}"`).join(' and ');
  return (
    `Cookie tossing: ${names} ${exposed.length > 1 ? 'do' : 'does'} not start with "__Host-". ` +
    'A sibling subdomain, or a plain-http page of the same domain, can set a cookie of the same ' +
    'name that the browser then sends beside this one, possibly first (a planted session or ' +
    'remember-me token). Duplicates are treated strictly (a session.duplicate_cookie event; a ' +
    'revoked, expired or unknown cookie never hides a live one), but only the "__Host-" prefix ' +
    'keeps such cookies out: keep the default "__Host-" names (Secure, Path=/, no Domain) unless ' +
    'the cookie must be shared with subdomains.'
  );
}
