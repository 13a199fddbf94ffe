import { WebSocket } from 'ws';

/** How a socket ended: its close code and reason. */
export interface SocketClose {
  code: number;
  reason: string;
}

/** A WebSocket client that keeps what the server sends, for tests. */
export class SocketClient {
  private readonly received: unknown[] = [];
  private readonly waiting: ((message: unknown) => void)[] = [];
  /** Resolves when the socket closes. */
  readonly closed: Promise<SocketClose>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (raw) => {
      const message = JSON.parse(raw.toString()) as unknown;
      const next = this.waiting.shift();
      if (next) next(message);
      else this.received.push(message);
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  /**
   * Opens a socket to `url` (http or ws) with the given cookie and Origin. Resolves once it is
   * open, or rejects with the HTTP status of a refused handshake.
   */
  static connect(
    url: string,
    headers: { cookie?: string | null; origin?: string } = {},
  ): Promise<SocketClient> {
    const wsUrl = url.replace(/^http/, 'ws');
    const sent: Record<string, string> = {};
    if (headers.cookie) sent.cookie = headers.cookie;
    if (headers.origin) sent.origin = headers.origin;
    const socket = new WebSocket(wsUrl, { headers: sent });
    const client = new SocketClient(socket);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(client));
      socket.once('unexpected-response', (_request, response) =>
        reject(new HandshakeRefused(response.statusCode ?? 0)),
      );
      socket.once('error', reject);
    });
  }

  /** The next message the server sends (or has sent). */
  next(timeoutMs = 2000): Promise<unknown> {
    const queued = this.received.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no message')), timeoutMs);
      this.waiting.push((message) => {
        clearTimeout(timer);
        resolve(message);
      });
    });
  }

  /** Sends `{ event, data }` and returns the next message. */
  async ask(event: string, data: unknown = {}): Promise<unknown> {
    this.socket.send(JSON.stringify({ event, data }));
    return this.next();
  }

  /** Sends `{ event, data }` without waiting. */
  send(event: string, data: unknown = {}): void {
    this.socket.send(JSON.stringify({ event, data }));
  }

  /** How the socket ends, or `'open'` if it is still open after `ms`. */
  async closeWithin(ms: number): Promise<SocketClose | 'open'> {
    return Promise.race([
      this.closed,
      new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), ms).unref()),
    ]);
  }

  close(): void {
    this.socket.close();
  }
}

/** A handshake the server answered with an HTTP status instead of the upgrade. */
export class HandshakeRefused extends Error {
  constructor(readonly status: number) {
    super(`handshake refused with ${status}`);
  }
}
