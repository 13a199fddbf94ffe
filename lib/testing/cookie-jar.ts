/** A cookie as the jar keeps it. */
interface KeptCookie {
  value: string;
  /** Set with Max-Age or Expires: it outlives a browser restart. */
  persistent: boolean;
}

/**
 * The cookies of one site, kept as a browser keeps them for a test client: every `Set-Cookie` is
 * stored by name, `Secure` ones included even over plain http (a test server is not https, and
 * the package's default `__Host-` cookies are `Secure`), and one with `Max-Age` of zero or less,
 * or an `Expires` in the past, deletes the cookie. Domain and Path are not matched: a test client
 * talks to one application. Cookies are not aged: the server's clock in a test is usually a
 * `ManualClock` the client knows nothing of, so expiry is the server's to enforce.
 */
export class CookieJar {
  private readonly cookies = new Map<string, KeptCookie>();

  /** The value of cookie `name`, or `undefined` when the jar has none. */
  get(name: string): string | undefined {
    return this.cookies.get(name)?.value;
  }

  /** Every cookie, by name. */
  entries(): Record<string, string> {
    return Object.fromEntries([...this.cookies].map(([name, cookie]) => [name, cookie.value]));
  }

  /** Stores a cookie as if the server had set it (`persistent`: as with Max-Age or Expires). */
  set(name: string, value: string, persistent = false): void {
    this.cookies.set(name, { value, persistent });
  }

  delete(name: string): void {
    this.cookies.delete(name);
  }

  /** Applies the `Set-Cookie` header lines of a response, in order. */
  receive(setCookieLines: readonly string[]): void {
    for (const line of setCookieLines) this.receiveOne(line);
  }

  /** Forgets the cookies a browser forgets when it closes: those without Max-Age or Expires. */
  forgetBrowserSessionCookies(): void {
    for (const [name, cookie] of this.cookies) {
      if (!cookie.persistent) this.cookies.delete(name);
    }
  }

  /** The `Cookie` request header, or `undefined` when the jar is empty. */
  header(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([name, cookie]) => `${name}=${cookie.value}`).join('; ');
  }

  private receiveOne(line: string): void {
    const [pair, ...attributes] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq < 0) return; // not a name=value pair: browsers ignore it
    const name = pair.slice(0, eq).trim();
    if (name === '') return;
    const lifetime = lifetimeOf(attributes);
    if (lifetime === 'expired') this.cookies.delete(name);
    else this.set(name, pair.slice(eq + 1).trim(), lifetime === 'persistent');
  }
}

/** What Max-Age (which wins, as in RFC 6265) or else Expires says about a cookie's life. */
function lifetimeOf(attributes: string[]): 'session' | 'persistent' | 'expired' {
  let expires: string | undefined;
  for (const attribute of attributes) {
    const eq = attribute.indexOf('=');
    const key = (eq < 0 ? attribute : attribute.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : attribute.slice(eq + 1).trim();
    if (key === 'max-age' && /^-?\d+$/.test(value)) {
      return Number(value) <= 0 ? 'expired' : 'persistent';
    }
    if (key === 'expires') expires = value;
  }
  if (expires === undefined) return 'session';
  const at = Date.parse(expires);
  if (Number.isNaN(at)) return 'session';
  return at <= Date.now() ? 'expired' : 'persistent';
}
