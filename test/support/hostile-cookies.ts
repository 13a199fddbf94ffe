/**
 * Seeded generator of hostile Cookie headers: random bytes, the "bad inputs" list of
 * SECURITY-REQUIREMENTS.md, and mutations of real tokens (live, anonymous, replaced, logged out,
 * expired). Each case is one or more Cookie header values as latin1 strings (one byte per
 * character), and says whether an HTTP client would refuse to send it (then it goes raw).
 */
import { seededRandom } from './reliability-app';

export interface HostileCookie {
  kind: string;
  /** One value per Cookie header line (latin1: each character is one byte on the wire). */
  lines: string[];
  /** Contains bytes Node's HTTP client refuses (controls, CR, LF) or several Cookie lines. */
  raw: boolean;
}

export interface RealTokens {
  live: string;
  anonymous: string;
  replaced: string;
  loggedOut: string;
  expired: string;
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const SENDABLE = /^[\t\x20-\x7e\x80-\xff]*$/;

export function hostileCookies(
  seed: number,
  count: number,
  name: string,
  tokens: RealTokens,
): HostileCookie[] {
  const random = seededRandom(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  const bytes = (length: number, from = 0, to = 256) =>
    Array.from({ length }, () => String.fromCharCode(from + int(to - from))).join('');
  const token = () => Array.from({ length: 43 }, () => pick([...BASE64URL])).join('');
  const real = () => pick(Object.values(tokens));
  const invalidUtf8 = () =>
    pick(['\xff\xfe', '\xc3\x28', '\xe2\x82', '\xf0\x28\x8c\xbc', '\xed\xa0\x80']);

  const mutations: ((value: string) => string)[] = [
    (v) => v,
    (v) => v.slice(0, int(v.length)),
    (v) => v + pick([...BASE64URL]),
    (v) => v + '=',
    (v) => {
      const i = int(v.length);
      return v.slice(0, i) + pick([...BASE64URL]) + v.slice(i + 1);
    },
    (v) =>
      v.replace(/[A-Za-z]/, (c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())),
    (v) => v.replace(/-/g, '+').replace(/_/g, '/'),
    (v) => encodeURIComponent(v).replace(/[A-Za-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`),
    (v) => `"${v}"`,
    (v) => ` \t${v}\t `,
    (v) => v.slice(0, 42) + pick(['B', 'C', 'D', 'Z']),
    (v) => `${v}%00`,
    (v) => `${v}\x00`,
    (v) => `${v.slice(0, 20)}\r\n${v.slice(20)}`,
    (v) => v + invalidUtf8(),
    (v) => v.split('').reverse().join(''),
  ];

  const badInputs: (() => string[])[] = [
    () => [`${name}=${'A'.repeat(4096)}`],
    () => [Array.from({ length: 1000 }, (_, i) => `c${i}=${i}`).join('; ') + `; ${name}=${real()}`],
    () => [`${name}=${real()}`, `${name}=${token()}`],
    () => [`${name}=${token()}`, `other=1`, `${name}=${real()}`],
    () => [`${name}=${token()}; ${name}=${real()}`],
    () => [`${name}=${real()}; ${name}=${real()}; ${name}=${token()}; ${name}=${real()}`],
    () => [`${name.toLowerCase()}=${real()}`],
    () => [`${name.toUpperCase()}=${real()}`],
    () => [`=${real()}`],
    () => [`${real()}`],
    () => [`; ;; =; ${name}`],
    () => [`a=1, ${name}=${real()}`],
    () => [`${name}=${real()}, a=1`],
    () => [`${name}=%E0%A4%A`],
    () => [`${name}=%00`],
    () => [`${name}=${real()}\x00`],
    () => [`${name}=\r\nX-Injected: 1`],
    () => [`${name}=${bytes(10, 0, 32)}`],
    () => [`${name}="${real()}"`],
    () => [`${name}=""`],
    () => [`${name}=`],
    () => [`${name}`],
    () => [`${name}=h\xe9llo-w\xf6rld`],
    () => [`${name}=${invalidUtf8()}${real().slice(2)}`],
    () => [`${name}=' OR '1'='1`],
    () => [`${name}=${"'OR1=1--".padEnd(43, 'A')}`],
    () => [`${name}=${"'; DROP TABLE session; --"}`],
    () => [`__proto__=${real()}`],
    () => [`constructor=${real()}; ${name}=${token()}`],
    () => [`${name}=__proto__`],
    () => [`${name}=${tokens.expired}`],
    () => [`${name}=${tokens.loggedOut}`],
    () => [`${name}=${tokens.replaced}`],
    () => [`${name}=${Buffer.alloc(32).toString('base64url')}`],
    () => [`${name}=${real().slice(0, 42)}`],
    () => [`${name}=${real().slice(0, 20)}`],
  ];

  const cases: HostileCookie[] = [];
  for (let i = 0; i < count; i++) {
    const choice = i % 4;
    let kind: string;
    let lines: string[];
    if (choice === 0) {
      kind = 'random bytes';
      lines = [random() < 0.5 ? bytes(int(300)) : `${name}=${bytes(int(80))}`];
    } else if (choice === 1) {
      kind = 'bad input';
      lines = badInputs[int(badInputs.length)]();
    } else if (choice === 2) {
      kind = 'mutated token';
      const mutate = pick(mutations);
      lines = [
        random() < 0.2 ? `a=b; ${name}=${mutate(real())}; c=d` : `${name}=${mutate(real())}`,
      ];
    } else {
      kind = 'random printable';
      lines = [
        Array.from({ length: 1 + int(5) }, () =>
          random() < 0.4
            ? `${name}=${random() < 0.5 ? token() : bytes(int(60), 33, 127)}`
            : bytes(int(40), 32, 127),
        ).join(pick(['; ', ';', ', ', ' ; '])),
      ];
    }
    cases.push({
      kind,
      lines,
      raw: lines.length > 1 || lines.some((line) => !SENDABLE.test(line)),
    });
  }
  return cases;
}
