/** What a browser sees of the request a Secure cookie answers. */
export interface RequestTransport {
  /** `http` or `https`, as the platform sees it (a trusted proxy's X-Forwarded-Proto counts). */
  protocol: string | undefined;
  /** The Host header. */
  host: string | undefined;
  /** X-Forwarded-Proto as sent, whether or not the platform trusts it. */
  forwardedProto: string | undefined;
}

interface RequestLike {
  protocol?: unknown;
  headers?: Record<string, unknown>;
}

function headerValue(headers: Record<string, unknown> | undefined, name: string) {
  const value = headers?.[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * The transport of the request behind a response: Express's `response.req`, Fastify's
 * `reply.request`; both give `protocol`, which follows the platform's trust-proxy setting.
 */
export function transportOf(response: unknown): RequestTransport | undefined {
  const target = response as { req?: RequestLike; request?: RequestLike } | null;
  const request = target?.req ?? target?.request;
  if (!request) return undefined;
  return {
    protocol: typeof request.protocol === 'string' ? request.protocol : undefined,
    host: headerValue(request.headers, 'host'),
    forwardedProto: headerValue(request.headers, 'x-forwarded-proto'),
  };
}

/** The host name of a Host header, without port or IPv6 brackets, in lower case. */
function hostName(host: string): string {
  const name = host.trim().toLowerCase();
  if (name.startsWith('[')) {
    const end = name.indexOf(']');
    return name.slice(1, end < 0 ? undefined : end);
  }
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(0, colon);
}

/**
 * Loopback names, which browsers treat as secure even over http (they keep Secure cookies
 * from http://localhost): `localhost` and its subdomains, 127.0.0.0/8 and ::1.
 */
function isLoopback(name: string): boolean {
  return (
    name === 'localhost' ||
    name.endsWith('.localhost') ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name) ||
    name === '::1'
  );
}

/**
 * Whether a browser drops a Secure cookie sent in answer to this request: it came over plain
 * http to a host that is not a loopback one. Unknown protocol or host: not judged.
 */
export function dropsSecureCookies(transport: RequestTransport): boolean {
  if (transport.protocol !== 'http' || !transport.host) return false;
  return !isLoopback(hostName(transport.host));
}

/** The warning for a Secure cookie that the browser drops: the cause, and the three fixes. */
export function insecureTransportWarning(transport: RequestTransport, cookieName: string): string {
  const proxied = transport.forwardedProto?.split(',')[0].trim().toLowerCase() === 'https';
  const cause = proxied
    ? 'The request came through a proxy that says https (X-Forwarded-Proto), but the application does not trust that proxy, so it saw plain http. '
    : '';
  return (
    `A Secure cookie ("${cookieName}") was set in answer to a plain-http request for host ` +
    `"${transport.host ?? ''}". ${cause}Browsers drop Secure cookies that arrive over http ` +
    '(except from localhost), so the visitor keeps no session: the next request is anonymous and ' +
    'an unsafe one fails with 403 csrf_token_invalid. Serve the application over HTTPS; behind a ' +
    "proxy that terminates TLS, trust it (Express: app.set('trust proxy', ...); Fastify: " +
    'new FastifyAdapter({ trustProxy: ... })) so that its X-Forwarded-Proto counts; for local ' +
    'development over plain http, set cookie: { secure: false } in the SessionModule options. ' +
    'This warning is logged once.'
  );
}
