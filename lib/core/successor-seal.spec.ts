import { generateToken, hashToken } from './session-token';
import { openSuccessor, sealSuccessor } from './successor-seal';

const IV_BYTES = 12;
const TAG_BYTES = 16;

describe('sealSuccessor / openSuccessor', () => {
  const oldToken = generateToken();
  const successor = generateToken();
  const sealed = sealSuccessor(oldToken, successor);

  it('R3 the holder of the old token opens the successor token', () => {
    expect(openSuccessor(oldToken, sealed)).toBe(successor);
  });

  it('lays out iv, tag and a ciphertext as long as the token', () => {
    expect(sealed).toHaveLength(IV_BYTES + TAG_BYTES + successor.length);
  });

  it('round-trips many pairs', () => {
    for (let i = 0; i < 200; i++) {
      const from = generateToken();
      const to = generateToken();
      expect(openSuccessor(from, sealSuccessor(from, to))).toBe(to);
    }
  });

  it('R3 another token does not open the seal', () => {
    expect(openSuccessor(generateToken(), sealed)).toBeNull();
    expect(openSuccessor(successor, sealed)).toBeNull();
    expect(openSuccessor('', sealed)).toBeNull();
  });

  it('R3 a token differing only in its last character does not open the seal', () => {
    const near = oldToken.slice(0, -1) + (oldToken.endsWith('A') ? 'E' : 'A');
    expect(openSuccessor(near, sealed)).toBeNull();
  });

  it('R5 the SHA-256 of the old token (what the database stores) does not open the seal', () => {
    const hash = hashToken(oldToken);
    for (const spelling of ['hex', 'base64', 'base64url', 'latin1'] as const) {
      expect(openSuccessor(hash.toString(spelling), sealed)).toBeNull();
    }
  });

  it('R5 the sealed bytes do not contain the successor token in plain text', () => {
    expect(sealed.includes(Buffer.from(successor, 'ascii'))).toBe(false);
    expect(sealed.toString('latin1')).not.toContain(successor);
    expect(sealed.toString('base64url')).not.toContain(successor);
    expect(sealed.includes(Buffer.from(successor, 'base64url'))).toBe(false);
  });

  it('R5 the sealed bytes do not contain the old token either', () => {
    expect(sealed.includes(Buffer.from(oldToken, 'ascii'))).toBe(false);
    expect(sealed.includes(hashToken(oldToken))).toBe(false);
  });

  it('two seals of the same pair differ (random IV) and both open', () => {
    const again = sealSuccessor(oldToken, successor);
    expect(again.equals(sealed)).toBe(false);
    expect(again.subarray(0, IV_BYTES).equals(sealed.subarray(0, IV_BYTES))).toBe(false);
    expect(again.subarray(IV_BYTES + TAG_BYTES).equals(sealed.subarray(IV_BYTES + TAG_BYTES))).toBe(
      false,
    );
    expect(openSuccessor(oldToken, again)).toBe(successor);
  });

  it('R16 a flipped bit in any byte (iv, tag or ciphertext) makes it unopenable', () => {
    for (let index = 0; index < sealed.length; index++) {
      for (const mask of [0x01, 0x80]) {
        const tampered = Buffer.from(sealed);
        tampered[index] ^= mask;
        expect(openSuccessor(oldToken, tampered)).toBeNull();
      }
    }
  });

  it('R16 every truncation makes it unopenable', () => {
    for (let length = 0; length < sealed.length; length++) {
      expect(openSuccessor(oldToken, sealed.subarray(0, length))).toBeNull();
    }
  });

  it('R16 dropping bytes from the front makes it unopenable', () => {
    expect(openSuccessor(oldToken, sealed.subarray(1))).toBeNull();
    expect(openSuccessor(oldToken, sealed.subarray(IV_BYTES))).toBeNull();
  });

  it('R16 extra bytes appended make it unopenable', () => {
    expect(openSuccessor(oldToken, Buffer.concat([sealed, Buffer.from([0])]))).toBeNull();
  });

  it('R16 an empty buffer, a header-only buffer and zeros are refused without throwing', () => {
    expect(openSuccessor(oldToken, Buffer.alloc(0))).toBeNull();
    expect(openSuccessor(oldToken, Buffer.alloc(IV_BYTES + TAG_BYTES))).toBeNull();
    expect(openSuccessor(oldToken, Buffer.alloc(IV_BYTES + TAG_BYTES + 43))).toBeNull();
  });

  it('a seal for one old token is not opened by the old token of another seal', () => {
    const otherOld = generateToken();
    const otherSealed = sealSuccessor(otherOld, successor);
    expect(openSuccessor(oldToken, otherSealed)).toBeNull();
    expect(openSuccessor(otherOld, sealed)).toBeNull();
    expect(openSuccessor(otherOld, otherSealed)).toBe(successor);
  });

  it('swapping the ciphertext of two seals under the same key makes it unopenable', () => {
    const other = sealSuccessor(oldToken, generateToken());
    const spliced = Buffer.concat([
      sealed.subarray(0, IV_BYTES + TAG_BYTES),
      other.subarray(IV_BYTES + TAG_BYTES),
    ]);
    expect(openSuccessor(oldToken, spliced)).toBeNull();
  });
});
