import { createConnection, createServer, Server, Socket } from 'node:net';

/**
 * A TCP forwarder on loopback that a test can cut and restore, to make the database
 * unreachable for an application without touching the database server:
 * - `refuse()`: closes the listener and every open connection (new connects are refused);
 * - `blackhole()`: closes every open connection and accepts new ones without ever answering
 *   (a partition: the client waits for its own timeout);
 * - `stall()`: keeps every open connection but forwards nothing more either way (a connection
 *   that stops answering without failing);
 * - `forward()`: back to normal, on the same port (stalled connections flow again).
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  /** Forwarded connections: client and upstream. */
  private readonly pairs = new Set<[Socket, Socket]>();
  private stalled = false;
  private mode: 'forward' | 'blackhole' = 'forward';
  port = 0;
  /** Connections accepted since the start (forwarded or held). */
  accepted = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static for(databaseUrl: string): TcpProxy {
    const url = new URL(databaseUrl);
    return new TcpProxy(url.hostname, Number(url.port || 5432));
  }

  /** The database URL with host and port replaced by the proxy's. */
  urlThrough(databaseUrl: string): string {
    const url = new URL(databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Forward new connections again (restarting the listener on the same port if needed). */
  async forward(): Promise<void> {
    this.mode = 'forward';
    if (this.stalled) {
      this.stalled = false;
      for (const [client, upstream] of this.pairs) this.join(client, upstream);
    }
    await this.start();
  }

  /** Forward nothing more on the open connections, without closing them. */
  stall(): void {
    this.stalled = true;
    for (const [client, upstream] of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  /** Close every connection and the listener: connects are refused. */
  async refuse(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.dropAll();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Close every connection; accept new ones but never forward a byte. */
  async blackhole(): Promise<void> {
    this.mode = 'blackhole';
    this.dropAll();
    await this.start();
  }

  async close(): Promise<void> {
    await this.refuse();
  }

  private dropAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  private accept(client: Socket): void {
    this.accepted++;
    this.track(client);
    if (this.mode === 'blackhole') {
      client.pause();
      return;
    }
    const upstream = createConnection(this.targetPort, this.targetHost);
    this.track(upstream);
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    if (!this.stalled) this.join(client, upstream);
    client.on('close', () => {
      this.pairs.delete(pair);
      upstream.destroy();
    });
    upstream.on('close', () => client.destroy());
  }

  private join(client: Socket, upstream: Socket): void {
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
