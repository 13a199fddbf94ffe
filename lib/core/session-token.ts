import { createHash, randomBytes } from 'node:crypto';

/** Bytes of CSPRNG output in a session token (256 bits). */
export const TOKEN_BYTES = 32;
/** Length of a token in base64url without padding. */
export const TOKEN_LENGTH = 43;

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** A new session token: 32 bytes from the CSPRNG, base64url. */
export function generateToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/**
 * Whether `value` is exactly a token this package could have issued: 43 base64url characters
 * that decode to 32 bytes and encode back to the same text (so no two spellings of one token).
 * Checked before any query touches the value.
 */
export function isWellFormedToken(value: string): boolean {
  if (!TOKEN_SHAPE.test(value)) return false;
  return Buffer.from(value, 'base64url').toString('base64url') === value;
}

/** SHA-256 of the token's ASCII bytes: the primary key at rest. */
export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'ascii').digest();
}

/** A public, non-secret identifier (for handles shown in device lists). */
export function generateHandle(): string {
  return randomBytes(16).toString('base64url');
}
