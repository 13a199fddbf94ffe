import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * A pre-session: what a visitor without a session holds once it has asked for a CSRF token.
 * It lives in the session cookie only (never in the database), so handing a token to an
 * anonymous visitor writes nothing. The cookie value is `p.` and base64url of
 * `issued-at (6 bytes, ms) || nonce (32 bytes) || tag (16 bytes)`, where the tag is an HMAC
 * under the deployment's server key: a value the server did not issue is refused without a
 * query. The pre-session's CSRF secret is another HMAC of the nonce, so a cookie alone (as a
 * naive double-submit would send it) never is a token. When the visitor's first write stores a
 * session, that session takes the pre-session's CSRF secret (the token on the page keeps
 * working) under a new, random session ID: the pre-session value never becomes a row's ID.
 */
export interface PreSession {
  /** The session cookie's value. */
  value: string;
  issuedAt: Date;
  /** The CSRF secret tokens of this pre-session are masked from. */
  csrfSecret: Buffer;
  readonly nonce: Buffer;
}

/** Bytes of the server key. */
export const SERVER_KEY_BYTES = 32;

const PREFIX = 'p.';
const TIME_BYTES = 6;
const NONCE_BYTES = 32;
const TAG_BYTES = 16;
const PAYLOAD_BYTES = TIME_BYTES + NONCE_BYTES + TAG_BYTES;
const SHAPE = new RegExp(`^p\\.[A-Za-z0-9_-]{${Math.ceil((PAYLOAD_BYTES * 4) / 3)}}$`);

// Domain separation: the tag and the CSRF secret are HMACs of different messages.
const TAG_LABEL = Buffer.from('nest-session-security pre-session tag\0');
const CSRF_LABEL = Buffer.from('nest-session-security pre-session csrf\0');

function hmac(key: Buffer, label: Buffer, ...parts: Buffer[]): Buffer {
  const mac = createHmac('sha256', key).update(label);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

function build(key: Buffer, nonce: Buffer, issuedAt: Date): PreSession {
  const time = Buffer.alloc(TIME_BYTES);
  time.writeUIntBE(issuedAt.getTime(), 0, TIME_BYTES);
  const tag = hmac(key, TAG_LABEL, time, nonce).subarray(0, TAG_BYTES);
  return {
    value: PREFIX + Buffer.concat([time, nonce, tag]).toString('base64url'),
    issuedAt,
    csrfSecret: hmac(key, CSRF_LABEL, nonce),
    nonce,
  };
}

/** A new pre-session issued at `now`. */
export function issuePreSession(key: Buffer, now: Date): PreSession {
  return build(key, randomBytes(NONCE_BYTES), now);
}

/** The same pre-session (same nonce, so the same CSRF secret) issued again at `now`. */
export function renewPreSession(key: Buffer, preSession: PreSession, now: Date): PreSession {
  return build(key, preSession.nonce, now);
}

/** Whether a cookie value has the shape of a pre-session (checked before the tag). */
export function isPreSessionShaped(value: string): boolean {
  return SHAPE.test(value) && Buffer.from(value.slice(2), 'base64url').length === PAYLOAD_BYTES;
}

/**
 * The pre-session a cookie value stands for, or `null` when the server did not issue it under
 * `key` (wrong shape, another spelling of the same bytes, or a tag that does not match; the
 * tag is compared in constant time).
 */
export function readPreSession(key: Buffer, value: string): PreSession | null {
  if (!isPreSessionShaped(value)) return null;
  const bytes = Buffer.from(value.slice(2), 'base64url');
  if (PREFIX + bytes.toString('base64url') !== value) return null;
  const issuedAt = new Date(bytes.readUIntBE(0, TIME_BYTES));
  const nonce = Buffer.from(bytes.subarray(TIME_BYTES, TIME_BYTES + NONCE_BYTES));
  const expected = build(key, nonce, issuedAt);
  return timingSafeEqual(Buffer.from(expected.value), Buffer.from(value)) ? expected : null;
}

/**
 * Whether a pre-session is still valid at `now`: it ends after the idle timeout, as an
 * anonymous session nobody touched would. Asking for a token again renews it.
 */
export function isPreSessionLive(preSession: PreSession, now: Date, idleTimeout: number): boolean {
  return now.getTime() - preSession.issuedAt.getTime() <= idleTimeout;
}
