import { randomBytes } from 'node:crypto';
import { sha256, sha256Hex } from './sha256';

/** Bytes of CSPRNG output in a session token (256 bits). */
export const TOKEN_BYTES = 32;
/** Length of a token in base64url without padding. */
export const TOKEN_LENGTH = 43;

/**
 * 43 base64url characters; the last carries 2 unused low bits, which must be zero (the 16
 * characters whose index is a multiple of 4), so that no two spellings decode to one token.
 */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

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
  return TOKEN_SHAPE.test(value);
}

/** SHA-256 of the token's ASCII bytes: the primary key at rest. */
export function hashToken(token: string): Buffer {
  return sha256(token);
}

/** {@link hashToken} in hex, as in-process copies are keyed (no Buffer made on a hit). */
export function hashTokenHex(token: string): string {
  return sha256Hex(token);
}

/** Bytes of CSPRNG output in a handle (128 bits). */
export const HANDLE_BYTES = 16;
/** Length of a handle in base64url without padding. */
export const HANDLE_LENGTH = 22;

const HANDLE_SHAPE = /^[A-Za-z0-9_-]{22}$/;

/** A public, non-secret identifier (for handles shown in device lists). */
export function generateHandle(): string {
  return randomBytes(HANDLE_BYTES).toString('base64url');
}

/**
 * Whether `value` has exactly the form of a {@link generateHandle} result: 22 base64url
 * characters that decode to 16 bytes and encode back to the same text. A handle comes from a
 * client (a URL segment), so it is checked before any query: anything else (NUL, lone
 * surrogates, a megabyte of text) is simply not found, without a statement.
 *
 * @example
 * if (!isWellFormedHandle(handle)) return false; // no such session
 */
export function isWellFormedHandle(value: string): boolean {
  if (typeof value !== 'string' || !HANDLE_SHAPE.test(value)) return false;
  return Buffer.from(value, 'base64url').toString('base64url') === value;
}
