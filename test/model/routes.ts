import { COOKIE, REMEMBER_COOKIE } from '../support/http-client';
import { cookieAction } from './http';
import type { ObservedResponse } from './reference/matching';
import type { ModelRequest } from './reference/exchange';

/* How each request of the model goes over HTTP to the test app's routes, and back. */

/** A handle no session ever had, well-formed (16 zero bytes): another user's, say. */
export const UNKNOWN_HANDLE = 'AAAAAAAAAAAAAAAAAAAAAA';

/** A route of the test app: method, path and body; the path that holds it at the gate. */
export interface Route {
  method: string;
  path: string;
  body?: object;
  /** The path when the step holds requests at the gate (routes that have one). */
  gated?: string;
}

export function routeOf(request: ModelRequest): Route {
  switch (request.route) {
    case 'login':
      return {
        method: 'POST',
        path: '/login',
        body: { userId: request.userId, rememberMe: request.rememberMe },
        gated: '/login?gate=1',
      };
    case 'readPublic':
      return { method: 'GET', path: '/public' };
    case 'readPrivate':
      return { method: 'GET', path: '/private', gated: '/private/gated' };
    case 'writePublic':
    case 'writePrivate': {
      const base = request.route === 'writePublic' ? '/public/data' : '/private/data';
      return {
        method: 'POST',
        path: base,
        body: { [request.key!]: request.value },
        gated: `${base}?gate=1`,
      };
    }
    case 'append':
      return {
        method: 'POST',
        path: '/public/list/cart',
        body: { item: request.item },
        gated: '/public/list/cart?gate=1',
      };
    case 'elevate':
      return { method: 'POST', path: '/elevate', gated: '/elevate?gate=1' };
    case 'password':
      return { method: 'POST', path: '/password' };
    case 'logout':
      return { method: 'POST', path: '/logout' };
    case 'sessions':
      return { method: 'GET', path: '/sessions' };
    case 'revokeDevice':
      return { method: 'DELETE', path: `/sessions/${request.handle}` };
    case 'revokeOthers':
      return { method: 'POST', path: '/sessions/revoke-others' };
    case 'logoutAll':
      return { method: 'POST', path: '/logout-all' };
  }
}

/** The Cookie header of a request: its session and remember-me cookies, if any. */
export function cookieHeader(request: ModelRequest): string | null {
  const pairs = [
    request.token ? `${COOKIE}=${request.token}` : null,
    request.remember ? `${REMEMBER_COOKIE}=${request.remember}` : null,
  ].filter(Boolean);
  return pairs.length > 0 ? pairs.join('; ') : null;
}

/** A response as the model compares it: a 404 without a code is Nest's plain `not_found`. */
export function observe(status: number, setCookies: string[], body: unknown): ObservedResponse {
  const code = (body as { code?: unknown } | null)?.code;
  return {
    status,
    code: typeof code === 'string' ? code : status === 404 ? 'not_found' : null,
    body,
    cookie: cookieAction(setCookies, COOKIE),
    remember: cookieAction(setCookies, REMEMBER_COOKIE),
  };
}
