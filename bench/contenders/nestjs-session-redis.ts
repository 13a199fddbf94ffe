/**
 * nestjs-session 3 + express-session 1.19 + connect-redis 10 on the `redis` 6 client, set up as
 * connect-redis's README shows (settings in express-session-app.ts): one client on the Redis at
 * BENCH_REDIS_URL, the store's default TTL (one day) and touch, keys under BENCH_REDIS_PREFIX
 * (the runner deletes them before and after the run). Its commands are counted as the other
 * contenders' SQL statements: a read is GET + EXPIRE (the touch), a write GET + SET.
 */
import { RedisStore } from 'connect-redis';
import { createClient, RedisClient } from 'redis';
import { serveExpressSession } from './express-session-app';
import { countStatement } from './harness';

/** Counts every command sent through any Redis client of this process. Call before connecting. */
function countRedisCommands(): void {
  const proto = RedisClient.prototype as unknown as {
    sendCommand: (...args: unknown[]) => unknown;
  };
  const original = proto.sendCommand;
  proto.sendCommand = function countedCommand(this: unknown, ...args: unknown[]) {
    const command = args[0] as readonly unknown[];
    countStatement(String(command[0]).toUpperCase());
    return original.apply(this, args);
  };
}

function setting(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

async function main() {
  countRedisCommands();
  const client = createClient({ url: setting('BENCH_REDIS_URL') });
  client.on('error', (error: unknown) => console.error('Redis client error', error));
  await client.connect();
  await serveExpressSession(new RedisStore({ client, prefix: setting('BENCH_REDIS_PREFIX') }));
}

void main();
