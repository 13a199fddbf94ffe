import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_INFO = 'nest-session-security/successor/v1';

/**
 * The key that seals a session's successor token. It is derived from the old token itself,
 * which the database never stores (it keeps only SHA-256 of it), so a read of the table reveals
 * no successor: only a client that still holds the old cookie can open it.
 */
function successorKey(oldToken: string): Buffer {
  return Buffer.from(
    hkdfSync('sha256', Buffer.from(oldToken, 'ascii'), Buffer.alloc(0), KEY_INFO, 32),
  );
}

/** Seals `successorToken` for the holder of `oldToken` (AES-256-GCM; iv, tag, ciphertext). */
export function sealSuccessor(oldToken: string, successorToken: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', successorKey(oldToken), iv);
  const sealed = Buffer.concat([cipher.update(successorToken, 'ascii'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]);
}

/** Opens a sealed successor with the old token; `null` when it does not open (wrong token, tampered). */
export function openSuccessor(oldToken: string, sealed: Buffer): string | null {
  if (sealed.length <= IV_BYTES + TAG_BYTES) return null;
  try {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      successorKey(oldToken),
      sealed.subarray(0, IV_BYTES),
    );
    decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    const plain = Buffer.concat([
      decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)),
      decipher.final(),
    ]);
    return plain.toString('ascii');
  } catch {
    return null;
  }
}
