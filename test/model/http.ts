import { Agent, request } from 'node:http';

/** A response as the driver needs it: status, Set-Cookie lines and the JSON body. */
export interface HttpResponse {
  status: number;
  setCookies: string[];
  body: unknown;
}

/**
 * A small HTTP client on one keep-alive agent: a long run sends hundreds of thousands of
 * requests, and a connection per request would run the machine out of ephemeral ports.
 */
export class HttpClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 16 });

  constructor(private readonly baseUrl: string) {}

  /**
   * Sends a request; once more, on a new connection, if the kept-alive connection it went out
   * on turned out closed by the server at that instant (Node's documented race: the request
   * never reached the server, so sending it again is not a second request). Not on the pool
   * again: after a long pause (a model step searching for minutes) every pooled connection
   * may be one the server closed.
   */
  async send(
    method: string,
    path: string,
    cookie: string | null,
    body?: object,
  ): Promise<HttpResponse> {
    try {
      return await this.sendOnce(method, path, cookie, body);
    } catch (error) {
      if (!(error instanceof StaleConnectionError)) throw error;
      return this.sendOnce(method, path, cookie, body, false);
    }
  }

  private sendOnce(
    method: string,
    path: string,
    cookie: string | null,
    body: object | undefined,
    pooled = true,
  ): Promise<HttpResponse> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {};
    if (cookie) headers.cookie = cookie;
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    return new Promise((resolve, reject) => {
      const outgoing = request(
        new URL(path, this.baseUrl),
        // `agent: false`: a connection of its own, closed after the response.
        { method, headers, agent: pooled ? this.agent : false },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('error', reject);
          incoming.on('end', () => {
            resolve({
              status: incoming.statusCode ?? 0,
              setCookies: incoming.headers['set-cookie'] ?? [],
              body: parseBody(Buffer.concat(chunks).toString('utf8')),
            });
          });
        },
      );
      outgoing.on('error', (error: NodeJS.ErrnoException) =>
        reject(
          outgoing.reusedSocket && error.code === 'ECONNRESET'
            ? new StaleConnectionError(error)
            : error,
        ),
      );
      outgoing.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A kept-alive connection the server closed as the request went out on it. */
class StaleConnectionError extends Error {
  constructor(cause: Error) {
    super(`stale kept-alive connection: ${cause.message}`, { cause });
  }
}

/** The JSON body; the text itself when it is not JSON (a proxy's error page, say). */
function parseBody(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * What a response did with cookie `name`: nothing (`null`), cleared it (`Max-Age=0`), or set
 * it to a value. The last Set-Cookie of that name decides, as in a browser.
 */
export function cookieAction(setCookies: string[], name: string): null | 'clear' | string {
  let action: null | 'clear' | string = null;
  for (const line of setCookies) {
    const [pair, ...attributes] = line.split(';').map((part) => part.trim());
    const eq = pair.indexOf('=');
    if (pair.slice(0, eq) !== name) continue;
    const cleared = attributes.some((attribute) => attribute.toLowerCase() === 'max-age=0');
    action = cleared ? 'clear' : pair.slice(eq + 1);
  }
  return action;
}
