import { createHash } from 'node:crypto';
import { HOME_PAGE_SCRIPT } from './home-page.script';
import { HOME_PAGE_STYLE } from './home-page.style';

function sha256(source: string): string {
  return `'sha256-${createHash('sha256').update(source, 'utf8').digest('base64')}'`;
}

/**
 * The page runs its own inline script and style and nothing else: no other script, even one
 * injected into the HTML, runs, and the page talks only to its own origin. Together with the
 * HttpOnly session cookie this is the defence in depth a sign-in page should have.
 *
 * `connect-src 'self'` covers the page's WebSocket too: since CSP Level 3, which current
 * browsers implement, `'self'` also matches `ws:` and `wss:` URLs of the page's own host and
 * port. Listing the socket's URL instead would need the host in the header, taken from a
 * request header; a bare `ws:` or `wss:` would allow every host.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src ${sha256(HOME_PAGE_SCRIPT)}`,
  `style-src ${sha256(HOME_PAGE_STYLE)}`,
  "connect-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');
