import type { Data, Json } from './store';

/*
 * A request as the model serves it, and the answer it predicts: the routes of the test app
 * (test/support/test.controller.ts) with the cookies a client sends.
 */

export type Route =
  | 'login'
  | 'readPublic'
  | 'readPrivate'
  | 'writePublic'
  | 'writePrivate'
  | 'append'
  | 'elevate'
  | 'password'
  | 'logout'
  | 'sessions'
  | 'revokeDevice'
  | 'revokeOthers'
  | 'logoutAll';

export interface ModelRequest {
  route: Route;
  /** The session cookie the request carries. */
  token: string | null;
  /** The remember-me cookie the request carries. */
  remember: string | null;
  userId?: string;
  rememberMe?: boolean;
  key?: string;
  value?: string;
  item?: string;
  handle?: string;
  /** Held at the test app's gate (at the start of its handler) until all held ones arrived. */
  gated?: boolean;
}

export interface SessionEntry {
  handle: string;
  current: boolean;
  createdAt: number;
  authenticatedAt: number | null;
  lastSeenAt: number;
}

export type Body =
  | { kind: 'view'; userId: string | null; handle: string | null; data: Data }
  | { kind: 'list'; list: Json[] }
  | { kind: 'ended'; ended: number }
  | { kind: 'sessions'; entries: SessionEntry[] }
  | { kind: 'none' };

export interface Outcome {
  status: number;
  /** The denial code of an error response. */
  code: string | null;
  /** The body of a success. */
  body: Body | null;
  /** The session cookie: untouched, cleared, or set to this token. */
  cookie: null | 'clear' | string;
  /** The remember-me cookie: untouched, cleared, or set to this value. */
  remember: null | 'clear' | string;
}
