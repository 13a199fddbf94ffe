import { generateCsrfSecret, maskCsrfToken, verifyCsrfToken } from './csrf-token';

describe('masked CSRF tokens', () => {
  const secret = generateCsrfSecret();

  it('a token verifies against its own secret', () => {
    expect(verifyCsrfToken(maskCsrfToken(secret), secret)).toBe(true);
  });

  it('every token is different, and all of them verify', () => {
    const tokens = Array.from({ length: 100 }, () => maskCsrfToken(secret));
    expect(new Set(tokens).size).toBe(100);
    for (const token of tokens) expect(verifyCsrfToken(token, secret)).toBe(true);
  });

  it('R15 a token of another session is refused', () => {
    expect(verifyCsrfToken(maskCsrfToken(generateCsrfSecret()), secret)).toBe(false);
  });

  it('R15 no secret (no session) refuses every token', () => {
    expect(verifyCsrfToken(maskCsrfToken(secret), null)).toBe(false);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['the secret itself', secret.toString('base64url')],
    ['truncated', maskCsrfToken(secret).slice(0, -1)],
    ['with a padding character', `${maskCsrfToken(secret).slice(0, -1)}=`],
    ['not base64url', '!'.repeat(86)],
  ])('R15 a %s token is refused', (_, token) => {
    expect(verifyCsrfToken(token, secret)).toBe(false);
  });

  it('R15 flipping any byte of a token makes it fail', () => {
    const bytes = Buffer.from(maskCsrfToken(secret), 'base64url');
    for (let i = 0; i < bytes.length; i += 7) {
      const tampered = Buffer.from(bytes);
      tampered[i] ^= 1;
      expect(verifyCsrfToken(tampered.toString('base64url'), secret)).toBe(false);
    }
  });

  it('the token does not contain the secret', () => {
    const token = Buffer.from(maskCsrfToken(secret), 'base64url');
    expect(token.includes(secret)).toBe(false);
  });
});
