import { randomBytes, timingSafeEqual } from 'node:crypto';
import { sha256 } from './sha256';

/** 12 random bytes: looked up, never secret (>= 9 bytes per the standards). */
const SELECTOR_BYTES = 12;
/** 32 random bytes: secret, stored only as SHA-256. */
const VALIDATOR_BYTES = 32;

const COOKIE_SHAPE = /^([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/;

/** The two parts of a remember-me cookie value `selector.validator`. */
export interface RememberMeCredentials {
  selector: string;
  validator: string;
}

function canonical(part: string, bytes: number): boolean {
  const decoded = Buffer.from(part, 'base64url');
  return decoded.length === bytes && decoded.toString('base64url') === part;
}

export function generateSelector(): string {
  return randomBytes(SELECTOR_BYTES).toString('base64url');
}

export function generateValidator(): string {
  return randomBytes(VALIDATOR_BYTES).toString('base64url');
}

export function formatRememberMeCookie(credentials: RememberMeCredentials): string {
  return `${credentials.selector}.${credentials.validator}`;
}

/** Parses a cookie value; `null` unless it is exactly `selector.validator` in canonical base64url. */
export function parseRememberMeCookie(value: string): RememberMeCredentials | null {
  const match = COOKIE_SHAPE.exec(value);
  if (!match || !canonical(match[1], SELECTOR_BYTES) || !canonical(match[2], VALIDATOR_BYTES)) {
    return null;
  }
  return { selector: match[1], validator: match[2] };
}

export function hashValidator(validator: string): Buffer {
  return sha256(validator);
}

/** Constant-time comparison of a presented validator with a stored hash. */
export function validatorMatches(validator: string, storedHash: Buffer | null): boolean {
  if (!storedHash || storedHash.length !== 32) return false;
  return timingSafeEqual(hashValidator(validator), storedHash);
}
