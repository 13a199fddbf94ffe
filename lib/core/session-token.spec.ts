import { createHash } from 'node:crypto';
import {
  generateHandle,
  generateToken,
  HANDLE_BYTES,
  HANDLE_LENGTH,
  hashToken,
  isWellFormedHandle,
  isWellFormedToken,
  TOKEN_BYTES,
  TOKEN_LENGTH,
} from './session-token';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A valid token whose last character is `last` (the first 42 characters are fixed). */
function withLastChar(token: string, last: string): string {
  return token.slice(0, -1) + last;
}

describe('generateToken', () => {
  const tokens = Array.from({ length: 10_000 }, () => generateToken());

  it('R4 gives 43 base64url characters without padding (32 bytes = 256 bits)', () => {
    expect(TOKEN_BYTES).toBe(32);
    expect(TOKEN_LENGTH).toBe(43);
    for (const token of tokens.slice(0, 100)) {
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    }
  });

  it('R4 10,000 tokens are all different', () => {
    expect(new Set(tokens).size).toBe(10_000);
  });

  it('R4 tokens have no constant prefix or suffix (no time or counter component)', () => {
    const firstTwo = new Set(tokens.map((token) => token.slice(0, 2)));
    const lastTwo = new Set(tokens.map((token) => token.slice(-3, -1)));
    // 4,096 possible two-character prefixes; 10,000 random draws hit far more than 1,000.
    expect(firstTwo.size).toBeGreaterThan(1_000);
    expect(lastTwo.size).toBeGreaterThan(1_000);
  });

  it('R4 every character position takes many values (no fixed byte)', () => {
    for (let position = 0; position < 42; position++) {
      const seen = new Set(tokens.slice(0, 2_000).map((token) => token[position]));
      expect(seen.size).toBe(64);
    }
  });

  it('R1 every generated token is well-formed', () => {
    expect(tokens.every((token) => isWellFormedToken(token))).toBe(true);
  });
});

describe('isWellFormedToken', () => {
  const valid = generateToken();

  it('accepts a generated token', () => {
    expect(isWellFormedToken(valid)).toBe(true);
  });

  it('accepts the all-zero token (shape only: strict mode decides whether it exists)', () => {
    expect(isWellFormedToken(Buffer.alloc(32).toString('base64url'))).toBe(true);
    expect(isWellFormedToken('A'.repeat(43))).toBe(true);
  });

  it('R16 rejects a token one character too short (42)', () => {
    expect(isWellFormedToken(valid.slice(0, 42))).toBe(false);
  });

  it('R16 rejects a token one character too long (44)', () => {
    expect(isWellFormedToken(valid + 'A')).toBe(false);
  });

  it('R16 rejects the 44-character padded base64 spelling of a token', () => {
    const padded = Buffer.from(valid, 'base64url').toString('base64');
    expect(padded).toHaveLength(44);
    expect(isWellFormedToken(padded)).toBe(false);
  });

  it.each(['+', '/', '=', '.', ' ', '%', '"', ';', ',', '\0', '\n', '\t', '~', '!'])(
    'R16 rejects a 43-character value containing %j',
    (bad) => {
      const value = bad + valid.slice(1);
      expect(value).toHaveLength(43);
      expect(isWellFormedToken(value)).toBe(false);
      expect(isWellFormedToken(valid.slice(0, 20) + bad + valid.slice(21))).toBe(false);
    },
  );

  it('R16 rejects a non-canonical last character (unused low bits set)', () => {
    const canonical = withLastChar(valid, 'A');
    expect(isWellFormedToken(canonical)).toBe(true);
    expect(Buffer.from(withLastChar(valid, 'B'), 'base64url')).toEqual(
      Buffer.from(canonical, 'base64url'),
    );
    expect(isWellFormedToken(withLastChar(valid, 'B'))).toBe(false);
    expect(isWellFormedToken(withLastChar(valid, 'C'))).toBe(false);
    expect(isWellFormedToken(withLastChar(valid, 'D'))).toBe(false);
  });

  it('R16 accepts exactly the 16 canonical last characters out of 64', () => {
    const accepted = [...BASE64URL].filter((last) => isWellFormedToken(withLastChar(valid, last)));
    expect(accepted.join('')).toBe('AEIMQUYcgkosw048');
  });

  it('R16 rejects a generated token with its last character moved to a non-canonical neighbour', () => {
    const last = valid[42];
    const index = BASE64URL.indexOf(last);
    expect(index % 4).toBe(0);
    const tampered = withLastChar(valid, BASE64URL[index + 1]);
    expect(isWellFormedToken(tampered)).toBe(false);
  });

  it('R16 rejects the empty string', () => {
    expect(isWellFormedToken('')).toBe(false);
  });

  it('R16 rejects non-ASCII look-alikes and other unicode', () => {
    expect(isWellFormedToken('é' + valid.slice(1))).toBe(false);
    expect(isWellFormedToken('\u0410' + valid.slice(1))).toBe(false); // Cyrillic A
    expect(isWellFormedToken('\uff21' + valid.slice(1))).toBe(false); // full-width A
    expect(isWellFormedToken('😀' + valid.slice(2))).toBe(false);
    expect(isWellFormedToken(valid.slice(0, 42) + '\u0660')).toBe(false); // Arabic-Indic 0
  });

  it('R16 rejects surrounding whitespace and embedded line breaks', () => {
    expect(isWellFormedToken(` ${valid}`)).toBe(false);
    expect(isWellFormedToken(`${valid} `)).toBe(false);
    expect(isWellFormedToken(`${valid}\n`)).toBe(false);
    expect(isWellFormedToken(`${valid.slice(0, 42)}\n`)).toBe(false);
  });

  it('R16 rejects a UUID and an SQL string', () => {
    expect(isWellFormedToken('123e4567-e89b-12d3-a456-426614174000')).toBe(false);
    expect(isWellFormedToken("' OR '1'='1")).toBe(false);
  });
});

describe('hashToken', () => {
  const token = generateToken();

  it('R5 is the 32-byte SHA-256 of the token text', () => {
    const hash = hashToken(token);
    expect(Buffer.isBuffer(hash)).toBe(true);
    expect(hash).toHaveLength(32);
    expect(hash.equals(createHash('sha256').update(token, 'ascii').digest())).toBe(true);
    expect(hash.equals(createHash('sha256').update(Buffer.from(token, 'utf8')).digest())).toBe(
      true,
    );
  });

  it('R5 hashes the text, not the decoded bytes', () => {
    const ofBytes = createHash('sha256').update(Buffer.from(token, 'base64url')).digest();
    expect(hashToken(token).equals(ofBytes)).toBe(false);
  });

  it('R5 matches a known SHA-256 test vector', () => {
    expect(hashToken('abc').toString('hex')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('R5 is deterministic and differs between tokens', () => {
    expect(hashToken(token).equals(hashToken(token))).toBe(true);
    expect(hashToken(token).equals(hashToken(generateToken()))).toBe(false);
  });

  it('R5 the hash does not contain the token', () => {
    const hash = hashToken(token);
    expect(hash.toString('hex')).not.toContain(token);
    expect(hash.toString('base64url')).not.toBe(token);
  });
});

describe('generateHandle', () => {
  const handles = Array.from({ length: 10_000 }, () => generateHandle());

  it('gives 22 base64url characters (16 random bytes)', () => {
    for (const handle of handles.slice(0, 100)) {
      expect(handle).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(Buffer.from(handle, 'base64url')).toHaveLength(16);
    }
  });

  it('10,000 handles are all different', () => {
    expect(new Set(handles).size).toBe(10_000);
  });

  it('R7 a handle is never a well-formed session token (it cannot be replayed as a cookie)', () => {
    expect(handles.some((handle) => isWellFormedToken(handle))).toBe(false);
  });
});

describe('issue 12 §2: isWellFormedHandle, a client-chosen handle is shape-checked before any query', () => {
  const handles = Array.from({ length: 2_000 }, () => generateHandle());
  const valid = handles[0];

  it('accepts every generated handle (22 base64url characters, 16 bytes)', () => {
    expect(HANDLE_BYTES).toBe(16);
    expect(HANDLE_LENGTH).toBe(22);
    expect(handles.every((handle) => isWellFormedHandle(handle))).toBe(true);
  });

  it('accepts exactly the 4 canonical last characters out of 64 (128 bits in 132)', () => {
    const accepted = [...BASE64URL].filter((last) => isWellFormedHandle(valid.slice(0, 21) + last));
    expect(accepted.join('')).toBe('AQgw');
  });

  it('rejects one character too short or too long, and the padded base64 spelling', () => {
    expect(isWellFormedHandle(valid.slice(0, 21))).toBe(false);
    expect(isWellFormedHandle(valid + 'A')).toBe(false);
    expect(isWellFormedHandle(Buffer.from(valid, 'base64url').toString('base64'))).toBe(false);
  });

  it('rejects a session token (43 characters) and the empty string', () => {
    expect(isWellFormedHandle(generateToken())).toBe(false);
    expect(isWellFormedHandle('')).toBe(false);
  });

  it.each(['\0', '\ud800', '\udc00', '+', '/', '=', '%', '.', ' ', '\n', "'", '"', 'é'])(
    'rejects a 22-character value containing %j',
    (bad) => {
      const value = bad + valid.slice(1);
      expect(value).toHaveLength(22);
      expect(isWellFormedHandle(value)).toBe(false);
      expect(isWellFormedHandle(valid.slice(0, 10) + bad + valid.slice(11))).toBe(false);
    },
  );

  it('rejects an emoji (a valid surrogate pair) in place of two characters', () => {
    expect(isWellFormedHandle('😀' + valid.slice(2))).toBe(false);
  });

  it('rejects what a URL segment may carry: "%00", a UUID, an SQL string, a long value', () => {
    expect(isWellFormedHandle('%00')).toBe(false);
    expect(isWellFormedHandle('123e4567-e89b-12d3-a456-426614174000')).toBe(false);
    expect(isWellFormedHandle("' OR '1'='1")).toBe(false);
    expect(isWellFormedHandle(valid.repeat(1_000))).toBe(false);
  });

  it('rejects a non-string from JavaScript callers', () => {
    expect(isWellFormedHandle(42 as unknown as string)).toBe(false);
    expect(isWellFormedHandle(null as unknown as string)).toBe(false);
  });
});
