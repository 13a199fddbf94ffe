/**
 * The Redis of `npm run bench`'s connect-redis contender, at BENCH_REDIS_URL (default
 * redis://127.0.0.1:6379), found as CI finds PostgreSQL: used when it answers PING; else, on
 * this machine only, started with `redis-server --daemonize yes --save '' --appendonly no`,
 * after `apt-get install -y redis-server` when it is not installed and this process may install
 * it. What cannot be had is a reason to skip the contender, never an error of the run. A Redis
 * this run started is shut down at its end; one it found is left as it was, but for the
 * contender's keys.
 */
import { spawnSync } from 'node:child_process';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';

export const redisUrl = () => process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Runs `task` with a client that fails at once (no reconnection) when Redis does not answer. */
async function withRedis(url, task) {
  const client = createClient({ url, socket: { connectTimeout: 2000, reconnectStrategy: false } });
  client.on('error', () => {}); // connect() and the commands reject with the same error
  await client.connect();
  try {
    return await task(client);
  } finally {
    client.destroy();
  }
}

async function answers(url) {
  try {
    return (await withRedis(url, (client) => client.ping())) === 'PONG';
  } catch {
    return false;
  }
}

async function answersWithin(url, ms) {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(200)) {
    if (await answers(url)) return true;
  }
  return false;
}

/** Runs a command to its end; `ok` and the last line of its output (the reason when it failed). */
function run(command, args, timeout) {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  const last = output.split('\n').pop() || result.error?.message || `exit ${result.status}`;
  return { ok: result.status === 0, last };
}

const installed = (name) => run('sh', ['-c', `command -v ${name}`], 5000).ok;

/**
 * A Redis to measure on: `{ url, started }` (`started`: this run started it, so `stopRedis`
 * shuts it down), or `{ skip }`, the reason there is none.
 */
export async function ensureRedis(log) {
  const url = redisUrl();
  if (await answers(url)) return { url, started: false };
  const { hostname, port } = new URL(url);
  if (!LOOPBACK.has(hostname)) return { skip: `no Redis answers at ${url}` };
  if (!installed('redis-server')) {
    if (!installed('apt-get') || process.getuid?.() !== 0) {
      return {
        skip: `no Redis answers at ${url}, redis-server is not installed, and apt-get cannot install it here (it needs root)`,
      };
    }
    log('installing redis-server with apt-get');
    const install = run(
      'sh',
      [
        '-c',
        'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server',
      ],
      600_000,
    );
    if (!install.ok) return { skip: `apt-get install -y redis-server failed: ${install.last}` };
    // The package's service may have started one.
    if (await answersWithin(url, 3000)) return { url, started: false };
  }
  log(`starting redis-server on 127.0.0.1:${port || 6379}`);
  const start = run(
    'redis-server',
    [
      '--port',
      port || '6379',
      '--bind',
      '127.0.0.1',
      '--daemonize',
      'yes',
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    30_000,
  );
  if (!start.ok) return { skip: `redis-server did not start: ${start.last}` };
  if (!(await answersWithin(url, 10_000))) {
    return { skip: `redis-server was started but does not answer at ${url} within 10 s` };
  }
  return { url, started: true };
}

/** The server's version and durability settings, for the report. */
export function redisSettings(url) {
  return withRedis(url, async (client) => {
    const version = /redis_version:(\S+)/.exec(await client.info('server'))?.[1] ?? '?';
    const config = {};
    for (const name of ['appendonly', 'appendfsync', 'save']) {
      Object.assign(config, await client.configGet(name));
    }
    return { version, ...config };
  });
}

/** Deletes every key under `prefix`. */
export function deleteKeys(url, prefix) {
  return withRedis(url, async (client) => {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      if (keys.length) await client.del(keys);
    }
  });
}

/** Shuts down a Redis that `ensureRedis` started (its data is the run's own: not saved). */
export async function stopRedis(url) {
  try {
    await withRedis(url, (client) => client.sendCommand(['SHUTDOWN', 'NOSAVE']));
  } catch {
    // The server closes the connection instead of answering.
  }
}
