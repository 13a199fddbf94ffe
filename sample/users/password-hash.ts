import { randomBytes, scrypt, ScryptOptions, timingSafeEqual } from 'node:crypto';

/**
 * Cost of new hashes: N=2^15, r=8, p=3 is one of the OWASP-recommended scrypt settings
 * (32 MiB, a few hundred milliseconds). The parameters are stored in each hash, so raising them
 * later does not invalidate existing passwords.
 */
const COST = { N: 2 ** 15, r: 8, p: 3 } as const;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
// Node refuses scrypt above 32 MiB by default; leave room for the parameters above.
const MAX_MEMORY = 128 * 1024 * 1024;

function deriveKey(password: string, salt: Buffer, cost: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(
      password.normalize('NFC'),
      salt,
      KEY_LENGTH,
      { ...cost, maxmem: MAX_MEMORY },
      (e, key) => (e ? reject(e) : resolve(key)),
    ),
  );
}

/** Hashes `password` with a fresh random salt: `scrypt$N$r$p$<salt>$<key>` (base64url). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await deriveKey(password, salt, COST);
  const encode = (bytes: Buffer) => bytes.toString('base64url');
  return ['scrypt', COST.N, COST.r, COST.p, encode(salt), encode(key)].join('$');
}

/** Whether `password` matches `stored`, compared in constant time; `false` for a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key, ...rest] = stored.split('$');
  const [N, R, P] = [n, r, p].map(Number);
  if (scheme !== 'scrypt' || !salt || !key || rest.length > 0) return false;
  if (![N, R, P].every((value) => Number.isSafeInteger(value) && value > 0)) return false;
  const expected = Buffer.from(key, 'base64url');
  const actual = await deriveKey(password, Buffer.from(salt, 'base64url'), { N, r: R, p: P });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
