import { Agent, IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { INestApplication, LoggerService } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  Clock,
  ManualClock,
  SESSION_MIGRATIONS,
  SessionGuard,
  SessionModule,
  SessionModuleOptions,
} from 'nest-session-security';
import { DataSource, Logger as TypeOrmLogger } from 'typeorm';
import { testDatabaseUrl } from './database-url';
import { Adapter, storageOptions, T0 } from './test-app';
import { TestController, TestGate } from './test.controller';

/**
 * Every error and warning the application logged: Nest's logger (where the package logs each
 * failed statement) and TypeORM's (the queries of the tests themselves).
 */
export class LogCapture implements LoggerService, TypeOrmLogger {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];
  readonly queryErrors: string[] = [];

  log(level?: unknown, message?: unknown): void {
    // TypeORM calls log(level, message); Nest calls log(message, context).
    if (level === 'warn') this.warnings.push(String(message));
  }
  error(message: unknown): void {
    this.errors.push(String(message));
  }
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
  debug(): void {}
  verbose(): void {}
  fatal(message: unknown): void {
    this.errors.push(String(message));
  }
  logQuery(): void {}
  logQueryError(error: string | Error, query: string): void {
    this.queryErrors.push(`${String(error)} in ${query.replace(/\s+/g, ' ').slice(0, 200)}`);
  }
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}

  reset(): void {
    this.errors.length = 0;
    this.warnings.length = 0;
    this.queryErrors.length = 0;
  }
}

export interface ReliabilityAppSetup {
  /** Database URL (default: the test database); point it at a {@link TcpProxy} to cut it. */
  databaseUrl?: string;
  /** `extra` of the TypeORM data source: pg pool settings such as `max`. */
  extra?: Record<string, unknown>;
  options?: SessionModuleOptions;
}

export interface ReliabilityApp {
  app: INestApplication;
  url: string;
  port: number;
  clock: ManualClock;
  dataSource: DataSource;
  logs: LogCapture;
  gate: TestGate;
  close(): Promise<void>;
}

/**
 * Like `startApp`, with control over the data source (URL, pool) and a logger that keeps every
 * error, so the reliability suite can cut the database and check what was logged.
 */
export async function startReliabilityApp(
  adapter: Adapter,
  setup: ReliabilityAppSetup = {},
): Promise<ReliabilityApp> {
  const clock = new ManualClock(T0);
  const logs = new LogCapture();
  const moduleRef = await Test.createTestingModule({
    imports: [
      TypeOrmModule.forRoot({
        type: 'postgres',
        url: setup.databaseUrl ?? testDatabaseUrl(),
        migrations: SESSION_MIGRATIONS,
        migrationsRun: true,
        logging: ['error', 'warn'],
        logger: logs,
        extra: setup.extra,
      }),
      // Like the other suites, requests are sent as an API client sends them, without CSRF
      // tokens (csrf-and-freshness.e2e-spec.ts covers CSRF).
      SessionModule.forRoot({ csrf: { enabled: false }, ...storageOptions(), ...setup.options }),
    ],
    controllers: [TestController],
    providers: [TestGate, { provide: APP_GUARD, useClass: SessionGuard }],
  })
    .overrideProvider(Clock)
    .useValue(clock)
    .compile();
  const app =
    adapter === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: logs })
      : moduleRef.createNestApplication({ logger: logs });
  await app.init();
  if (adapter === 'fastify') await app.getHttpAdapter().getInstance().ready();
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as { port: number }).port;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    port,
    clock,
    dataSource: app.get(DataSource),
    logs,
    gate: app.get(TestGate),
    close: () => app.close(),
  };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: unknown;
  ms: number;
}

export interface SendOptions {
  method?: string;
  /** Cookie header value, or several values sent as that many Cookie lines. */
  cookie?: string | string[];
  body?: unknown;
  agent?: Agent;
  timeoutMs?: number;
}

/** A plain HTTP request with a time limit: rejects with `timeout` rather than hanging. */
export function send(url: string, path: string, options: SendOptions = {}): Promise<Reply> {
  const started = Date.now();
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | string[]> = {};
    if (options.cookie !== undefined) headers.cookie = options.cookie;
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const req = httpRequest(
      `${url}${path}`,
      { method: options.method ?? 'GET', headers, agent: options.agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON: keep the text
          }
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            ms: Date.now() - started,
          });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(options.timeoutMs ?? 10_000, () =>
      req.destroy(new Error(`timeout after ${options.timeoutMs ?? 10_000} ms: ${path}`)),
    );
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/**
 * Sends `head` (request line and header lines, no final blank line) byte for byte on a fresh
 * connection with `Connection: close`, for header values an HTTP client refuses to send (NUL,
 * CR, LF, other control bytes). Resolves with the status of the first response, or `null`
 * when the server closed without one.
 */
export function sendRaw(port: number, head: Buffer, timeoutMs = 10_000): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`raw request got no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (status: number | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(status);
    };
    // write, not end: a half-closed client makes Node's server drop a response still pending.
    socket.on('connect', () =>
      socket.write(Buffer.concat([head, Buffer.from('\r\nConnection: close\r\n\r\n', 'latin1')])),
    );
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(received.toString('latin1'));
      if (match) finish(Number(match[1]));
    });
    socket.on('error', () => undefined);
    socket.on('close', () => finish(null));
  });
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` at a time. */
export async function pooled<T>(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<T>,
): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

/** A seeded PRNG (mulberry32): the same seed gives the same fuzz run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The value of our cookie set by a response (`null` when cleared, `undefined` when untouched). */
export function setCookieValue(
  headers: IncomingHttpHeaders,
  name: string,
): string | null | undefined {
  let value: string | null | undefined;
  for (const line of headers['set-cookie'] ?? []) {
    const [pair, ...attributes] = line.split(';').map((part) => part.trim());
    const eq = pair.indexOf('=');
    if (pair.slice(0, eq) !== name) continue;
    const cleared = attributes.some((attribute) => attribute.toLowerCase() === 'max-age=0');
    value = cleared ? null : pair.slice(eq + 1);
  }
  return value;
}
