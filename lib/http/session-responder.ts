import { Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { InjectSessionOptions } from '../options/session-options.provider';
import type { ResolvedSessionOptions } from '../options/resolve-session-options';
import { SessionContext } from '../session/session-context';
import { serializeClearingCookie, serializeSessionCookie } from './session-cookie';

/**
 * Writes what a request's session asks of the response: the Set-Cookie that stores or clears
 * the session cookie, and `Cache-Control: no-store` when the response carries an authenticated
 * session or a new cookie. Goes through the Nest HTTP adapter, so it works on Express and Fastify.
 */
@Injectable()
export class SessionResponder {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @InjectSessionOptions() private readonly options: ResolvedSessionOptions,
  ) {}

  apply(response: unknown, context: SessionContext): void {
    const adapter = this.adapterHost.httpAdapter;
    if (adapter.isHeadersSent(response)) return;
    const cookie = this.options.cookie;
    if (context.cookie === 'set' && context.token) {
      adapter.appendHeader(response, 'Set-Cookie', serializeSessionCookie(cookie, context.token));
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
    if (context.record?.userId || context.cookie === 'set' || context.csrfIssued) {
      adapter.setHeader(response, 'Cache-Control', 'no-store');
    }
    const vary = [
      ...(context.csrfIssued ? ['Cookie'] : []),
      ...(context.csrfChecked ? ['Origin', 'Sec-Fetch-Site'] : []),
    ];
    if (vary.length > 0) this.addVary(response, vary);
    context.cookie = null;
    context.rememberMeCookie = null;
    context.csrfIssued = false;
    context.csrfChecked = false;
  }

  /** Adds names to `Vary` without dropping what another part of the app put there. */
  private addVary(response: unknown, names: string[]): void {
    const adapter = this.adapterHost.httpAdapter;
    const existing = String(adapter.getHeader(response, 'Vary') ?? '')
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean);
    const lower = existing.map((name) => name.toLowerCase());
    const added = names.filter((name) => !lower.includes(name.toLowerCase()));
    if (added.length > 0) adapter.setHeader(response, 'Vary', [...existing, ...added].join(', '));
  }
}
