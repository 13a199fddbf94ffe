import { Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { InjectSessionOptions } from '../options/session-options.token';
import type { ResolvedSessionOptions } from '../options/resolve-session-options';
import { SessionContext } from '../lifecycle/session-context';
import { dropsSecureCookies, insecureTransportWarning, transportOf } from './insecure-transport';
import { serializeClearingCookie, serializeSessionCookie } from '../lifecycle/session-cookie';

/**
 * Whether a response belongs to one browser's session, so that no cache may keep it or hand it
 * to anyone else: the request carried a session or remember-me cookie of ours, the response
 * sets or clears one, it was made with a session (created, restored or signed in here), or it
 * hands out a CSRF token. A request with none of these (a public page, no cookie) is left as
 * the application answers it, cacheable.
 */
function isPersonal(context: SessionContext): boolean {
  return (
    context.cookieSent ||
    context.record !== null ||
    context.cookie === 'set' ||
    context.rememberMe !== null ||
    context.rememberMeCookie !== null ||
    context.csrfIssued
  );
}

/** Directives a handler may have set that say "keep less": kept beside `no-store`. */
const RESTRICTIVE_DIRECTIVES = new Set([
  'private',
  'no-cache',
  'no-store',
  'must-revalidate',
  'proxy-revalidate',
  'no-transform',
]);

/**
 * The `Cache-Control` of a personal response, given what the handler set (if anything). A
 * value that already says `no-store` is kept as it is; otherwise the handler's restrictive
 * directives (`private`, `no-cache`, ...) stay and `no-store` is added, while those that allow
 * storing (`public`, `max-age`, `s-maxage`, `immutable`, ...) go.
 * Without a value: `no-store`; `private, max-age=60` becomes `private, no-store`.
 */
function noStoreCacheControl(existing: string | undefined): string {
  if (existing === undefined) return 'no-store';
  const directives = existing
    .split(',')
    .map((directive) => directive.trim())
    .filter(Boolean);
  const names = directives.map((directive) => directive.split('=')[0].trim().toLowerCase());
  if (names.includes('no-store')) return existing;
  const kept = names.filter(
    (name, index) =>
      RESTRICTIVE_DIRECTIVES.has(name) && names.indexOf(name) === index && name !== 'no-store',
  );
  return [...kept, 'no-store'].join(', ');
}

const VARY_PERSONAL: readonly string[] = ['Cookie'];
const VARY_CHECKED: readonly string[] = ['Origin', 'Sec-Fetch-Site'];
const VARY_BOTH: readonly string[] = [...VARY_PERSONAL, ...VARY_CHECKED];

/**
 * The request headers a response varies by: `Cookie` when it is personal, the provenance
 * headers when the CSRF check read them; `null` for none. Constant lists: this runs on every
 * response.
 */
function varyNames(personal: boolean, csrfChecked: boolean): readonly string[] | null {
  if (personal) return csrfChecked ? VARY_BOTH : VARY_PERSONAL;
  return csrfChecked ? VARY_CHECKED : null;
}

/** A header as the adapter returns it (string, number or list), as one string. */
function headerText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/**
 * Writes what a request's session asks of the response: the Set-Cookie that stores or clears
 * the session cookie, and for every response that belongs to a session (see `isPersonal`)
 * `Cache-Control: no-store`, `Vary: Cookie` and no `ETag`. Goes through the Nest HTTP adapter,
 * so it works on Express and Fastify.
 */
@Injectable()
export class SessionResponseHeaders {
  private readonly logger = new Logger('SessionModule');
  /**
   * Whether requests are still looked at for a Secure cookie that the browser would drop:
   * only with Secure cookies, and only until the first warning (once per module instance).
   */
  private watchingTransport: boolean;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @InjectSessionOptions() private readonly options: ResolvedSessionOptions,
  ) {
    this.watchingTransport = options.cookie.secure;
  }

  write(response: unknown, context: SessionContext): void {
    const adapter = this.adapterHost.httpAdapter;
    if (adapter.isHeadersSent(response)) return;
    const cookie = this.options.cookie;
    const value = context.cookieValue;
    if (context.cookie === 'set' && value) {
      adapter.appendHeader(response, 'Set-Cookie', serializeSessionCookie(cookie, value));
      if (this.watchingTransport) this.checkTransport(response, cookie.name);
    } else if (context.cookie === 'clear' && context.cookieSent) {
      adapter.appendHeader(response, 'Set-Cookie', serializeClearingCookie(cookie));
    }
    const remember = context.rememberMeCookie;
    if (remember) {
      const { cookie: rememberCookie, lifetime } = this.options.rememberMe;
      adapter.appendHeader(
        response,
        'Set-Cookie',
        remember === 'clear'
          ? serializeClearingCookie(rememberCookie)
          : serializeSessionCookie(rememberCookie, remember.set, Math.floor(lifetime / 1000)),
      );
    }
    const personal = isPersonal(context);
    if (personal) this.preventCaching(response);
    const vary = varyNames(personal, context.csrfChecked);
    if (vary) this.addVary(response, vary);
    context.responseWritten();
  }

  /**
   * Warns, once, when a Secure cookie goes out on a plain-http request to a host that is not
   * localhost: the browser drops it, and nothing else would say why sign-in then fails.
   */
  private checkTransport(response: unknown, cookieName: string): void {
    const transport = transportOf(response);
    if (!transport || !dropsSecureCookies(transport)) return;
    this.watchingTransport = false;
    this.logger.warn(insecureTransportWarning(transport, cookieName));
  }

  /**
   * `Cache-Control: no-store` (keeping a handler's own stricter directives), and no `ETag` or
   * `Last-Modified`: Express computes an ETag for every body, and a validator on a response no
   * one may store only invites conditional requests. The Nest adapter has no `removeHeader`;
   * Express's response and Fastify's reply both have one of that name.
   */
  private preventCaching(response: unknown): void {
    const adapter = this.adapterHost.httpAdapter;
    const existing = headerText(adapter.getHeader(response, 'Cache-Control'));
    const value = noStoreCacheControl(existing);
    if (value !== existing) adapter.setHeader(response, 'Cache-Control', value);
    const target = response as { removeHeader?: (name: string) => unknown };
    if (typeof target.removeHeader === 'function') {
      target.removeHeader('ETag');
      target.removeHeader('Last-Modified');
    }
  }

  /** Adds names to `Vary` without dropping what another part of the app put there. */
  private addVary(response: unknown, names: readonly string[]): void {
    const adapter = this.adapterHost.httpAdapter;
    const text = headerText(adapter.getHeader(response, 'Vary'));
    if (text === undefined) {
      adapter.setHeader(response, 'Vary', names.join(', '));
      return;
    }
    const existing = text
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean);
    // `Vary: *` already says the response depends on everything.
    if (existing.includes('*')) return;
    const lower = existing.map((name) => name.toLowerCase());
    const added = names.filter((name) => !lower.includes(name.toLowerCase()));
    if (added.length > 0) adapter.setHeader(response, 'Vary', [...existing, ...added].join(', '));
  }
}
