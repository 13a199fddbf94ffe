import { randomBytes, timingSafeEqual } from 'node:crypto';

/** Bytes of a session's CSRF secret. */
export const CSRF_SECRET_BYTES = 32;

const MASKED_LENGTH = Math.ceil((CSRF_SECRET_BYTES * 2 * 4) / 3);
const MASKED_SHAPE = new RegExp(`^[A-Za-z0-9_-]{${MASKED_LENGTH}}$`);

/** A new per-session CSRF secret. */
export function generateCsrfSecret(): Buffer {
  return randomBytes(CSRF_SECRET_BYTES);
}

/**
 * A token for `secret`, masked with fresh random bytes (`mask || mask XOR secret`, base64url):
 * every call gives a different string, so a compressed response never repeats the secret
 * (BREACH), while any of them verifies against the same session.
 */
export function maskCsrfToken(secret: Buffer): string {
  const mask = randomBytes(secret.length);
  const masked = Buffer.alloc(secret.length);
  for (let i = 0; i < secret.length; i++) masked[i] = mask[i] ^ secret[i];
  return Buffer.concat([mask, masked]).toString('base64url');
}

/**
 * Whether `token` is a masked token of `secret`. Shape is checked first; the comparison of
 * the unmasked bytes takes constant time.
 */
export function verifyCsrfToken(token: string | undefined, secret: Buffer | null): boolean {
  if (!secret || typeof token !== 'string' || !MASKED_SHAPE.test(token)) return false;
  if (secret.length === CSRF_SECRET_BYTES) return verifyInScratch(token, secret);
  const bytes = Buffer.from(token, 'base64url');
  if (bytes.length !== secret.length * 2) return false;
  const unmasked = Buffer.alloc(secret.length);
  for (let i = 0; i < secret.length; i++) unmasked[i] = bytes[i] ^ bytes[secret.length + i];
  return timingSafeEqual(unmasked, secret);
}

/** Decoded token and unmasked secret of {@link verifyInScratch}: checked on every unsafe request. */
const DECODED = Buffer.alloc(CSRF_SECRET_BYTES * 2);
const UNMASKED = Buffer.alloc(CSRF_SECRET_BYTES);

/**
 * {@link verifyCsrfToken} of a well-shaped token against a secret of the usual length, in two
 * buffers made once rather than two per request (synchronous: no other call can use them
 * meanwhile), wiped after the comparison. A token of `MASKED_SHAPE` always decodes to exactly
 * `2 * CSRF_SECRET_BYTES` bytes.
 */
function verifyInScratch(token: string, secret: Buffer): boolean {
  if (DECODED.write(token, 'base64url') !== DECODED.length) return false;
  for (let i = 0; i < CSRF_SECRET_BYTES; i++) {
    UNMASKED[i] = DECODED[i] ^ DECODED[CSRF_SECRET_BYTES + i];
  }
  const valid = timingSafeEqual(UNMASKED, secret);
  DECODED.fill(0);
  UNMASKED.fill(0);
  return valid;
}
