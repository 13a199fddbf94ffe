import { randomBytes } from 'node:crypto';
import {
  isPreSessionLive,
  isPreSessionShaped,
  issuePreSession,
  readPreSession,
  renewPreSession,
} from './pre-session-token';
import { generateToken } from './session-token';

const key = randomBytes(32);
const at = new Date('2030-01-01T00:00:00.000Z');

describe('pre-session tokens', () => {
  it('a value the server issued reads back with its time and secret', () => {
    const issued = issuePreSession(key, at);
    expect(issued.value).toMatch(/^p\.[A-Za-z0-9_-]{72}$/);
    const read = readPreSession(key, issued.value);
    expect(read?.issuedAt).toEqual(at);
    expect(read?.csrfSecret.equals(issued.csrfSecret)).toBe(true);
  });

  it('each issue has its own nonce and secret', () => {
    const a = issuePreSession(key, at);
    const b = issuePreSession(key, at);
    expect(a.value).not.toBe(b.value);
    expect(a.csrfSecret.equals(b.csrfSecret)).toBe(false);
  });

  it('another key, any changed character, or a changed time is refused', () => {
    const issued = issuePreSession(key, at);
    expect(readPreSession(randomBytes(32), issued.value)).toBeNull();
    for (let i = 2; i < issued.value.length; i += 7) {
      const c = issued.value[i] === 'A' ? 'B' : 'A';
      expect(
        readPreSession(key, issued.value.slice(0, i) + c + issued.value.slice(i + 1)),
      ).toBeNull();
    }
  });

  it('the secret is not the cookie: no part of the value reveals it', () => {
    const issued = issuePreSession(key, at);
    const bytes = Buffer.from(issued.value.slice(2), 'base64url');
    expect(bytes.includes(issued.csrfSecret.subarray(0, 8))).toBe(false);
  });

  it('renewing keeps the secret and moves the issue time', () => {
    const issued = issuePreSession(key, at);
    const later = new Date(at.getTime() + 60_000);
    const renewed = renewPreSession(key, issued, later);
    expect(renewed.value).not.toBe(issued.value);
    expect(renewed.csrfSecret.equals(issued.csrfSecret)).toBe(true);
    expect(readPreSession(key, renewed.value)?.issuedAt).toEqual(later);
  });

  it('lives for the idle timeout after its issue time, not a millisecond more', () => {
    const issued = issuePreSession(key, at);
    expect(isPreSessionLive(issued, new Date(at.getTime() + 1000), 1000)).toBe(true);
    expect(isPreSessionLive(issued, new Date(at.getTime() + 1001), 1000)).toBe(false);
  });

  it('is told apart from session tokens and junk by shape', () => {
    expect(isPreSessionShaped(issuePreSession(key, at).value)).toBe(true);
    expect(isPreSessionShaped(generateToken())).toBe(false);
    expect(isPreSessionShaped('p.' + 'A'.repeat(71))).toBe(false);
    expect(isPreSessionShaped('q.' + 'A'.repeat(72))).toBe(false);
    expect(readPreSession(key, 'p.' + 'A'.repeat(72))).toBeNull();
  });
});
