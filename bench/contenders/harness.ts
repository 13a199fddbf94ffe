/**
 * What every benchmark contender shares: a statement counter on the pg client (every SQL
 * statement any library sends goes through `Client.prototype.query`, so the count is the same
 * for TypeORM, connect-pg-simple and a raw pool; the Redis contender counts its commands through
 * the same counter), the IPC protocol the runner speaks, and start-up.
 */
import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';

interface StatementStats {
  total: number;
  byVerb: Record<string, number>;
  /** HTTP requests that reached the server (the denominator of statements per request). */
  requests: number;
}

const stats: StatementStats = { total: 0, byVerb: {}, requests: 0 };

/**
 * Counts one statement (or, for a contender on another store, one command) sent to the store,
 * by its verb: SELECT, UPDATE, GET, EXPIRE...
 */
export function countStatement(verb: string): void {
  stats.total++;
  stats.byVerb[verb] = (stats.byVerb[verb] ?? 0) + 1;
}

/**
 * The verb a statement is counted under; `SELECT 1` apart, the heartbeat of the package's
 * listening connection (one every 2 s, whatever the load), so that the report can tell it from
 * the SELECTs of requests.
 */
function verbOf(text: string): string {
  if (/^\s*SELECT 1\s*$/i.test(text)) return 'SELECT 1';
  return /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? '?';
}

/** Counts every statement sent through any pg client of this process. Call before connecting. */
export function countStatements(): void {
  const proto = Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function countedQuery(this: unknown, ...args: unknown[]) {
    const config = args[0] as string | { text?: string } | undefined;
    const text = typeof config === 'string' ? config : config?.text;
    if (typeof text === 'string') countStatement(verbOf(text));
    return original.apply(this, args);
  };
}

/** The database this contender uses (set by the runner). */
export function databaseUrl(): string {
  const url = process.env.BENCH_DATABASE_URL;
  if (!url) throw new Error('BENCH_DATABASE_URL is not set');
  return url;
}

function cpuMicroseconds(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** Listens on a random loopback port, tells the runner, and answers its statistics requests. */
export async function serve(app: INestApplication): Promise<void> {
  app.getHttpServer().on('request', () => stats.requests++);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  process.on('message', (message: { type: string; id?: number }) => {
    if (message.type === 'stats') {
      process.send?.({
        type: 'stats',
        id: message.id,
        total: stats.total,
        requests: stats.requests,
        byVerb: { ...stats.byVerb },
        rss: process.memoryUsage().rss,
        // CPU time of this process (user and system, microseconds): the runner divides its
        // growth over a run by the requests served, a figure less swayed than req/s by what
        // else shares the cores.
        cpu: cpuMicroseconds(),
      });
    } else if (message.type === 'stop') {
      void app.close().finally(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'ready', port: address.port });
}

/** The value of cookie `name` in a Cookie header, or undefined (first occurrence). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}
