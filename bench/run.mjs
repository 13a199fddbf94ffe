/**
 * `npm run bench`: starts each contender as its own process on the local PostgreSQL, drives it
 * with autocannon from this process (10 connections; a warm-up, then several interleaved runs),
 * counts the SQL statements each contender sends (its pg client counts them; read over IPC),
 * and prints one table with the median req/s, the spread, p50/p99 latency, statements per
 * request and the ratios to the references, all from the same run. Writes
 * bench/results/<timestamp>.json and bench/results/latest.md.
 *
 * Expects `npm run build` and `tsc -p bench/tsconfig.json` to have run (the npm script does).
 * Environment: DATABASE_URL (server, default postgres://postgres@127.0.0.1:5432/postgres),
 * BENCH_RUNS (5), BENCH_DURATION (seconds per run, 5), BENCH_WARMUP (seconds, 3),
 * BENCH_LARGE (1000000 stored sessions), BENCH_SMALL (10000), BENCH_ONLY (comma-separated
 * scenario ids), BENCH_CPU_PROF=1 (contenders write V8 CPU profiles to dist-bench/profiles),
 * BENCH_NODE_FLAGS (Node flags for every contender, space-separated; in the report's config),
 * BENCH_GAP (seconds of idle after each measured run, default 0; it gives rounds of fewer
 * scenarios a full run's length; in the report's config),
 * BENCH_KEEP=1 (keep the benchmark databases and Redis keys afterwards; by default they are
 * deleted), BENCH_REDIS_URL (the connect-redis contender's Redis, default redis://127.0.0.1:6379;
 * found, started or skipped as bench/redis.mjs says).
 */
import autocannon from 'autocannon';
import { createHash, createHmac } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  createWriteFloorTable,
  recreateDatabase,
  seedSessions,
  serverUrl,
  SQL_TOKEN,
  tokenOf,
  vacuum,
  withClient,
} from './database.mjs';
import { browserHeaders, login } from './browser.mjs';
import { ContenderProcess, OUT } from './contender-process.mjs';
import { deleteKeys, ensureRedis, redisSettings, stopRedis } from './redis.mjs';
import { logger, number } from './report.mjs';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const CONFIG = {
  connections: 10,
  runs: number('BENCH_RUNS', 5),
  duration: number('BENCH_DURATION', 5),
  warmup: number('BENCH_WARMUP', 3),
  // The scale pair is measured right after seeding, in shorter runs, so that every measured
  // request finds its session "seen just now" (no touch due: touchInterval is 60 s) and the
  // two sizes differ only in the size of the table.
  scaleDuration: number('BENCH_SCALE_DURATION', 3),
  scaleWarmup: number('BENCH_SCALE_WARMUP', 2),
  small: number('BENCH_SMALL', 10_000),
  large: number('BENCH_LARGE', 1_000_000),
  loginPool: number('BENCH_LOGIN_POOL', 150_000),
  cpuProf: process.env.BENCH_CPU_PROF === '1',
  // Node flags for every contender alike (for experiments such as `--no-flush-bytecode`).
  nodeFlags: (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
  gap: number('BENCH_GAP', 0),
  only: process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(',') : null,
};
const SECRET = 'bench-secret';
/** Where the connect-redis contender keeps its sessions; deleted before and after the run. */
const REDIS_PREFIX = 'nss_bench:';
const log = logger('bench');

// ---------------------------------------------------------------------------------------------
// Databases

/** Seeds sessions of this package (see database.mjs) and logs how long it took. */
async function seedModuleSessions(url, batch) {
  const ms = await seedSessions(url, batch);
  log(`seeded ${batch.count} sessions (${batch.prefix}) in ${ms} ms`);
}

/**
 * A valid CSRF token for a seeded session: the package's tokens are `mask || mask XOR secret`
 * (base64url), so an all-zero mask gives `zeros || secret`; the seeded secret is
 * SHA-256('csrf-' || token).
 */
const seededCsrfToken = (token) =>
  Buffer.concat([Buffer.alloc(32), createHash('sha256').update(`csrf-${token}`).digest()]).toString(
    'base64url',
  );

const EXPRESS_SID = (prefix, i) => tokenOf(prefix, i).slice(0, 32);

/** express-session's signed cookie value for `sid` (cookie-signature, HMAC-SHA-256). */
function expressCookie(sid) {
  const signature = createHmac('sha256', SECRET).update(sid).digest('base64').replace(/=+$/, '');
  return `connect.sid=${encodeURIComponent(`s:${sid}.${signature}`)}`;
}

async function seedExpressSessions(url, { prefix, from, count }) {
  await withClient(url, (client) =>
    client.query(
      `INSERT INTO "session" (sid, sess, expire)
       SELECT left(${SQL_TOKEN(prefix)}, 32),
         '{"cookie":{"originalMaxAge":null,"expires":null,"secure":false,"httpOnly":true,"path":"/","sameSite":"lax"},"cart":[{"sku":"a-1","qty":1}]}'::json,
         now() + interval '1 day'
       FROM generate_series($1::int, $2::int) AS i`,
      [from, from + count - 1],
    ),
  );
}

/** What the report says about durability: the server's settings. */
async function postgresSettings(url) {
  return withClient(url, async (client) => {
    const settings = {};
    for (const name of ['fsync', 'synchronous_commit', 'wal_sync_method']) {
      settings[name] = (await client.query(`SHOW ${name}`)).rows[0][name];
    }
    return settings;
  });
}

/**
 * Deletes the connect-redis contender's keys and shuts down a Redis this run started (none: does
 * nothing); a Redis that has gone away meanwhile is only logged.
 */
async function releaseRedis(redis) {
  if (!redis) return;
  try {
    await deleteKeys(redis.url, REDIS_PREFIX);
    if (redis.started) {
      await stopRedis(redis.url);
      log(`stopped the Redis this run started at ${redis.url}`);
    }
  } catch (error) {
    log(`could not clean up Redis at ${redis.url}: ${error.message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Contenders

/** A contender of this run, profiled when BENCH_CPU_PROF=1; `extraEnv` adds to its environment. */
function contender(name, file, url, extraEnv = {}) {
  const profiling = CONFIG.cpuProf
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${join(OUT, 'profiles')}`,
        `--cpu-prof-name=${name}.cpuprofile`,
      ]
    : [];
  const execArgv = [...CONFIG.nodeFlags, ...profiling];
  // Inherited from the shell, these would change the package's options under its labels.
  const env = {
    BENCH_DATABASE_URL: url ?? '',
    BENCH_SESSION_SECRET: SECRET,
    BENCH_MODULE_OPTIONS: '',
    BENCH_CACHE: '',
    ...extraEnv,
  };
  return new ContenderProcess(name, file, env, execArgv, log);
}

// ---------------------------------------------------------------------------------------------
// Measurement

/** `load`: what to send, autocannon options (`requests`, or `method`, `path` and `setupClient`). */
function runAutocannon(base, load, duration) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: base,
        connections: CONFIG.connections,
        duration,
        ...load,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    instance.on('error', reject);
  });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function measure(scenario, duration) {
  const before = await scenario.contender.stats();
  const result = await runAutocannon(
    scenario.contender.base,
    scenario.request(scenario.contender.base),
    duration,
  );
  const after = await scenario.contender.stats();
  const requests = result.requests.total;
  // Statements per request over the requests the server received (autocannon stops counting
  // with up to 10 requests still in flight, which the server did serve).
  const served = after.requests - before.requests;
  const byVerb = {};
  for (const [verb, count] of Object.entries(after.byVerb)) {
    const delta = count - (before.byVerb[verb] ?? 0);
    if (delta) byVerb[verb] = delta;
  }
  return {
    rps: requests / result.duration,
    requests,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    statements: after.total - before.total,
    served,
    byVerb,
    cpu: after.cpu - before.cpu,
  };
}

function summarise(runs) {
  const rps = runs.map((run) => run.rps);
  const requests = runs.reduce((sum, run) => sum + run.requests, 0);
  const served = runs.reduce((sum, run) => sum + run.served, 0);
  const statements = runs.reduce((sum, run) => sum + run.statements, 0);
  const cpu = runs.reduce((sum, run) => sum + run.cpu, 0);
  const byVerb = {};
  for (const run of runs) {
    for (const [verb, count] of Object.entries(run.byVerb))
      byVerb[verb] = (byVerb[verb] ?? 0) + count;
  }
  const medianRps = median(rps);
  return {
    rps: medianRps,
    min: Math.min(...rps),
    max: Math.max(...rps),
    spread: (Math.max(...rps) - Math.min(...rps)) / medianRps,
    p50: median(runs.map((run) => run.p50)),
    p99: median(runs.map((run) => run.p99)),
    statementsPerRequest: statements / served,
    cpuPerRequest: cpu / served,
    byVerbPerRequest: Object.fromEntries(
      Object.entries(byVerb).map(([verb, count]) => [verb, count / served]),
    ),
    requests,
    non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0),
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
    runs,
  };
}

/** Warm-up for each scenario, then `runs` rounds that visit every scenario in turn. */
async function measureInterleaved(scenarios, { warmup, duration }) {
  for (const scenario of scenarios) {
    log(`warm-up ${scenario.id} (${warmup} s)`);
    await scenario.before?.();
    await runAutocannon(scenario.contender.base, scenario.request(scenario.contender.base), warmup);
  }
  const runs = new Map(scenarios.map((scenario) => [scenario.id, []]));
  for (let round = 0; round < CONFIG.runs; round++) {
    for (const scenario of scenarios) {
      const run = await measure(scenario, duration);
      runs.get(scenario.id).push(run);
      log(
        `run ${round + 1}/${CONFIG.runs} ${scenario.id}: ${run.rps.toFixed(0)} req/s, ` +
          `${(run.statements / run.served).toFixed(3)} SQL/req` +
          (run.non2xx || run.errors ? `, ${run.non2xx} non-2xx, ${run.errors} errors` : ''),
      );
      if (CONFIG.gap > 0) await sleep(CONFIG.gap * 1000);
    }
  }
  return Object.fromEntries(
    scenarios.map((scenario) => [scenario.id, summarise(runs.get(scenario.id))]),
  );
}

/**
 * A request whose session (cookie, CSRF header) is fixed per autocannon connection (one user
 * each), set once per connection by `setupClient`: autocannon resets a `setupRequest` context
 * after each pass over its `requests`, that is after every request here, so a context cannot
 * hold a connection's session (two connections would then send one session at once). Each
 * request also carries a browser's headers (see browserHeaders).
 */
function perConnection(method, path, sessions) {
  return (base) => {
    let next = 0;
    const browser = browserHeaders(method, base);
    return {
      requests: [{ method, path }],
      setupClient: (client) =>
        client.setHeaders({ ...sessions[next++ % sessions.length], ...browser }),
    };
  };
}

/** A request that carries the next unused cookie of a pool (each login consumes one). */
function fromPool(method, path, pool) {
  return (base) => {
    const browser = browserHeaders(method, base);
    return {
      requests: [
        {
          method,
          path,
          setupRequest: (request) => {
            if (pool.next >= pool.size) {
              pool.exhausted = true;
              pool.next = 0;
            }
            const headers = { ...request.headers, ...pool.headers(pool.next++), ...browser };
            return { ...request, headers };
          },
        },
      ],
    };
  };
}

/** A request with the cookie of a session drawn uniformly from all `count` stored ones. */
function randomSession(path, prefix, count) {
  return (base) => ({
    requests: [
      {
        method: 'GET',
        path,
        setupRequest: (request) => ({
          ...request,
          headers: {
            ...request.headers,
            ...browserHeaders('GET', base),
            cookie: `__Host-sid=${tokenOf(prefix, Math.floor(Math.random() * count))}`,
          },
        }),
      },
    ],
  });
}

// ---------------------------------------------------------------------------------------------
// Report

const LABELS = {
  ceiling: 'Nest, no session (ceiling)',
  'ceiling-interceptor': 'Nest + one global no-op interceptor',
  'ceiling-guard': 'Nest + one global guard that allows every request',
  'ceiling-guard-parameter': 'Nest + that guard + one parameter decorator on the route',
  floor: 'Nest + 1 PK SELECT (floor)',
  'write-floor': 'Nest + 1 PK UPDATE committed durably (write floor)',
  'nestjs-session': 'nestjs-session + connect-pg-simple',
  'nestjs-session-redis': 'nestjs-session + connect-redis (Redis)',
  module: 'nest-session-security',
  'module-nocache': 'nest-session-security, cache off',
};

function ratio(value, reference) {
  return reference ? `${(value / reference).toFixed(2)}x` : '';
}

function table(results) {
  const get = (id) => results[id];
  const rows = [];
  const header = `| contender | request | req/s (median) | spread (min-max) | p50 ms | p99 ms | SQL/req | CPU µs/req | vs ceiling | vs floor | vs nestjs-session (scale: vs ${CONFIG.small.toLocaleString('en')}) |`;
  rows.push(header, '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const ceiling = get('ceiling:read')?.rps;
  const floor = get('floor:read')?.rps;
  for (const [id, result] of Object.entries(results)) {
    const [contender, kind] = id.split(':');
    // The scale pair runs in its own phase: compare it with itself (large vs small) only.
    const scale = kind.includes('@');
    const reference =
      id === 'module-nocache:read@large'
        ? get('module-nocache:read@small')?.rps
        : (contender === 'module' || contender === 'module-nocache') && !scale
          ? get(`nestjs-session:${kind}`)?.rps
          : undefined;
    const flags =
      result.non2xx || result.errors ? ` (${result.non2xx} non-2xx, ${result.errors} errors)` : '';
    rows.push(
      `| ${LABELS[contender] ?? contender} | ${kind}${flags} | ${result.rps.toFixed(0)} | ` +
        `±${((result.spread * 100) / 2).toFixed(1)}% (${result.min.toFixed(0)}-${result.max.toFixed(0)}) | ` +
        `${result.p50} | ${result.p99} | ${result.statementsPerRequest.toFixed(3)} | ` +
        `${result.cpuPerRequest.toFixed(0)} | ` +
        `${scale ? '' : ratio(result.rps, ceiling)} | ${scale ? '' : ratio(result.rps, floor)} | ${ratio(result.rps, reference)} |`,
    );
  }
  return rows.join('\n');
}

/**
 * Issue 17's table: each contender's reads as a ratio to the no-session ceiling's, its writes to
 * the write floor's (the physical bounds on this machine), and both to nestjs-session +
 * connect-pg-simple. Ratios of the medians of this run.
 */
const BOUNDS_ROWS = [
  'ceiling',
  'ceiling-interceptor',
  'ceiling-guard',
  'ceiling-guard-parameter',
  'nestjs-session-redis',
  'module',
  'module-nocache',
  'floor',
  'write-floor',
  'nestjs-session',
];

function boundsTable(results, skipped) {
  const rps = (id) => results[id]?.rps;
  const cell = (value, reference) => (value && reference ? (value / reference).toFixed(2) : '');
  const rows = [
    '| contender | read (x ceiling) | write (x write floor) | read (x connect-pg-simple) | write (x connect-pg-simple) | CPU per read (x ceiling) | CPU per write (x write floor) |',
    '|---|--:|--:|--:|--:|--:|--:|',
  ];
  const cpu = (id) => results[id]?.cpuPerRequest;
  for (const name of BOUNDS_ROWS) {
    if (skipped[name]) {
      rows.push(`| ${LABELS[name]} | skipped: ${skipped[name]} | | | | | |`);
      continue;
    }
    const read = rps(`${name}:read`);
    const write = rps(`${name}:write`);
    if (!read && !write) continue;
    rows.push(
      `| ${LABELS[name]} | ${cell(read, rps('ceiling:read'))} | ${cell(write, rps('write-floor:write'))} | ` +
        `${cell(read, rps('nestjs-session:read'))} | ${cell(write, rps('nestjs-session:write'))} | ` +
        `${cell(cpu(`${name}:read`), cpu('ceiling:read'))} | ${cell(cpu(`${name}:write`), cpu('write-floor:write'))} |`,
    );
  }
  return rows.join('\n');
}

/** A list of targets, each met or missed; a name with "SQL" is a ceiling, any other a minimum. */
function checkList() {
  const checks = [];
  const add = (name, value, goal, format = (v) => `${v.toFixed(2)}x`) => {
    if (value === undefined || Number.isNaN(value)) return;
    const met = name.includes('SQL') ? value <= goal : value >= goal;
    checks.push({
      name,
      value,
      goal,
      met,
      text: `${met ? 'MET   ' : 'MISSED'} ${name}: ${format(value)} (target ${name.includes('SQL') ? '<=' : '>='} ${format(goal)})`,
    });
  };
  return { checks, add };
}

/** Four decimals: a due touch (one UPDATE per session per touchInterval) shows. */
const perRequest = (v) => v.toFixed(4);

function targets(results) {
  const rps = (id) => results[id]?.rps;
  const { checks, add } = checkList();
  add('read vs nestjs-session', rps('module:read') / rps('nestjs-session:read'), 2.0);
  add('read vs one-SELECT floor', rps('module:read') / rps('floor:read'), 0.85);
  add('SQL statements per read', results['module:read']?.statementsPerRequest, 1.0, perRequest);
  add('write vs nestjs-session', rps('module:write') / rps('nestjs-session:write'), 1.3);
  add(
    `read at ${CONFIG.large.toLocaleString('en')} vs ${CONFIG.small.toLocaleString('en')} sessions`,
    rps('module-nocache:read@large') / rps('module-nocache:read@small'),
    0.9,
  );
  return checks;
}

/**
 * The median over the rounds of the ratio of `id`'s run to `bound`'s run of the same round (the
 * two run one after the other): the machine's drift between rounds, which moves both, cancels.
 */
function pairedRatio(results, id, bound) {
  const runs = results[id]?.runs;
  const bounds = results[bound]?.runs;
  if (!runs || !bounds || runs.length !== bounds.length) return undefined;
  return median(runs.map((run, round) => run.rps / bounds[round].rps));
}

/**
 * Issue 17's targets (the session cache), against the bounds of this run. The ratios to the
 * bounds are paired (see {@link pairedRatio}); the tables above give the ratios of the medians.
 */
function cacheTargets(results) {
  const { checks, add } = checkList();
  add(
    'read vs no-session ceiling (median of paired runs)',
    pairedRatio(results, 'module:read', 'ceiling:read'),
    0.8,
  );
  add('SQL statements per read', results['module:read']?.statementsPerRequest, 0.01, perRequest);
  add(
    'write vs write floor (median of paired runs)',
    pairedRatio(results, 'module:write', 'write-floor:write'),
    0.9,
  );
  add(
    'write vs nestjs-session + connect-pg-simple (median of paired runs)',
    pairedRatio(results, 'module:write', 'nestjs-session:write'),
    1.4,
  );
  add('SQL statements per write', statementsPerWrite(results['module:write']), 1.0, perRequest);
  return checks;
}

/**
 * The statements of the package's writes, per write, without what no write causes: the
 * listening connection's heartbeat (`SELECT 1` every 2 s) and, in each run, the re-read of each
 * session whose cached copy aged past the cache's `maxAge` (5 s) while the other scenarios ran
 * (at most one SELECT per session, that is per connection, per run). Everything else counts.
 */
function statementsPerWrite(result) {
  if (!result) return undefined;
  let statements = 0;
  let served = 0;
  for (const run of result.runs) {
    const aged = Math.min(run.byVerb.SELECT ?? 0, CONFIG.connections);
    statements += run.statements - (run.byVerb['SELECT 1'] ?? 0) - aged;
    served += run.served;
  }
  return statements / served;
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  const loadAtStart = loadavg();
  const wanted = (id) => !CONFIG.only || CONFIG.only.includes(id);
  log('config', JSON.stringify(CONFIG));
  log(`load average at start: ${loadAtStart.map((load) => load.toFixed(2)).join(', ')}`);

  // The connect-redis contender runs when a Redis can be had; else the run goes on without it.
  const skipped = {};
  const skip = (name, reason) => {
    skipped[name] = reason;
    log(`SKIPPED ${LABELS[name]}: ${reason}`);
  };
  let redis = null;
  if (wanted('nestjs-session-redis:read') || wanted('nestjs-session-redis:write')) {
    try {
      const found = await ensureRedis(log);
      if (found.skip) throw new Error(found.skip);
      found.settings = await redisSettings(found.url);
      await deleteKeys(found.url, REDIS_PREFIX);
      log(
        `Redis ${found.started ? 'started' : 'found'} at ${found.url}`,
        JSON.stringify(found.settings),
      );
      redis = found;
    } catch (error) {
      skip('nestjs-session-redis', error.message);
    }
  }

  const mainUrl = await recreateDatabase('nss_bench');
  // The package with its cache off has a database of its own: the cached contender listens on
  // its database, and would otherwise handle the notifications of the other's writes.
  const noCacheUrl = await recreateDatabase('nss_bench_nocache');
  const expressUrl = await recreateDatabase('nss_bench_express');
  await withClient(expressUrl, (client) =>
    client.query(readFileSync(require.resolve('connect-pg-simple/table.sql'), 'utf8')),
  );

  const postgres = await postgresSettings(mainUrl);

  const contenders = {
    ceiling: contender('ceiling', 'ceiling.js', null),
    'ceiling-interceptor': contender('ceiling-interceptor', 'ceiling-interceptor.js', null),
    'ceiling-guard': contender('ceiling-guard', 'ceiling-guard.js', null),
    'ceiling-guard-parameter': contender(
      'ceiling-guard-parameter',
      'ceiling-guard-parameter.js',
      null,
    ),
    floor: contender('floor', 'floor.js', mainUrl),
    'write-floor': contender('write-floor', 'write-floor.js', mainUrl),
    'nestjs-session': contender('nestjs-session', 'nestjs-session.js', expressUrl),
    module: contender('module', 'session-module.js', mainUrl),
    'module-nocache': contender('module-nocache', 'session-module.js', noCacheUrl, {
      BENCH_CACHE: 'off',
    }),
  };
  if (redis) {
    contenders['nestjs-session-redis'] = contender(
      'nestjs-session-redis',
      'nestjs-session-redis.js',
      null,
      { BENCH_REDIS_URL: redis.url, BENCH_REDIS_PREFIX: REDIS_PREFIX },
    );
  }
  const results = {};
  try {
    // The module first: its migration creates the session table the floor reads.
    await contenders.module.start();
    await Promise.all(
      [
        'module-nocache',
        'ceiling',
        'ceiling-interceptor',
        'ceiling-guard',
        'ceiling-guard-parameter',
        'floor',
        'write-floor',
        'nestjs-session',
      ].map((name) => contenders[name].start()),
    );
    if (redis) {
      await contenders['nestjs-session-redis'].start().catch(async (error) => {
        await contenders['nestjs-session-redis'].stop();
        delete contenders['nestjs-session-redis'];
        await releaseRedis(redis);
        redis = null;
        skip('nestjs-session-redis', error.message);
      });
    }

    const moduleSessions = [];
    const noCacheSessions = [];
    const expressSessions = [];
    const redisSessions = [];
    for (let i = 0; i < CONFIG.connections; i++) {
      moduleSessions.push(await login(contenders.module.base, `reader-${i}`, '__Host-sid', true));
      noCacheSessions.push(
        await login(contenders['module-nocache'].base, `reader-${i}`, '__Host-sid', true),
      );
      expressSessions.push(
        await login(contenders['nestjs-session'].base, `reader-${i}`, 'connect.sid', false),
      );
      if (contenders['nestjs-session-redis']) {
        redisSessions.push(
          await login(contenders['nestjs-session-redis'].base, `reader-${i}`, 'connect.sid', false),
        );
      }
    }
    await createWriteFloorTable(mainUrl, moduleSessions);
    await seedModuleSessions(mainUrl, {
      prefix: 'login-',
      from: 0,
      count: CONFIG.loginPool,
      userId: null,
    });
    await seedExpressSessions(expressUrl, { prefix: 'login-', from: 0, count: CONFIG.loginPool });
    await vacuum(mainUrl);
    await vacuum(expressUrl);
    const modulePool = {
      size: CONFIG.loginPool,
      next: 0,
      headers: (i) => ({
        cookie: `__Host-sid=${tokenOf('login-', i)}`,
        'x-csrf-token': seededCsrfToken(tokenOf('login-', i)),
      }),
    };
    const expressPool = {
      size: CONFIG.loginPool,
      next: 0,
      headers: (i) => ({ cookie: expressCookie(EXPRESS_SID('login-', i)) }),
    };

    // Each round runs these in this order: the package's read right after the ceiling's, its
    // write between the write floor's and connect-pg-simple's, so that issue 17's paired ratios
    // (see cacheTargets) compare runs a few seconds apart on a machine whose speed drifts.
    const main = [
      {
        id: 'ceiling:read',
        contender: contenders.ceiling,
        request: perConnection('GET', '/read', moduleSessions),
      },
      {
        id: 'module:read',
        contender: contenders.module,
        request: perConnection('GET', '/read', moduleSessions),
      },
      {
        id: 'ceiling-interceptor:read',
        contender: contenders['ceiling-interceptor'],
        request: perConnection('GET', '/read', moduleSessions),
      },
      {
        id: 'ceiling-guard:read',
        contender: contenders['ceiling-guard'],
        request: perConnection('GET', '/read', moduleSessions),
      },
      {
        id: 'ceiling-guard-parameter:read',
        contender: contenders['ceiling-guard-parameter'],
        request: perConnection('GET', '/read', moduleSessions),
      },
      {
        id: 'floor:read',
        contender: contenders.floor,
        request: perConnection('GET', '/read', moduleSessions),
      },
      {
        id: 'nestjs-session:read',
        contender: contenders['nestjs-session'],
        request: perConnection('GET', '/read', expressSessions),
      },
      {
        id: 'nestjs-session-redis:read',
        contender: contenders['nestjs-session-redis'],
        request: perConnection('GET', '/read', redisSessions),
      },
      {
        id: 'module-nocache:read',
        contender: contenders['module-nocache'],
        request: perConnection('GET', '/read', noCacheSessions),
      },
      {
        id: 'write-floor:write',
        contender: contenders['write-floor'],
        request: perConnection('POST', '/write', moduleSessions),
      },
      {
        id: 'module:write',
        contender: contenders.module,
        request: perConnection('POST', '/write', moduleSessions),
      },
      {
        id: 'nestjs-session:write',
        contender: contenders['nestjs-session'],
        request: perConnection('POST', '/write', expressSessions),
      },
      {
        id: 'nestjs-session-redis:write',
        contender: contenders['nestjs-session-redis'],
        request: perConnection('POST', '/write', redisSessions),
      },
      {
        id: 'module-nocache:write',
        contender: contenders['module-nocache'],
        request: perConnection('POST', '/write', noCacheSessions),
      },
      {
        id: 'nestjs-session:login',
        contender: contenders['nestjs-session'],
        request: fromPool('POST', '/login?u=login-user', expressPool),
      },
      {
        id: 'module:login',
        contender: contenders.module,
        request: fromPool('POST', '/login?u=login-user', modulePool),
      },
    ].filter((scenario) => scenario.contender && wanted(scenario.id));
    Object.assign(
      results,
      await measureInterleaved(main, { warmup: CONFIG.warmup, duration: CONFIG.duration }),
    );
    for (const [name, pool] of [
      ['module', modulePool],
      ['nestjs-session', expressPool],
    ]) {
      if (pool.exhausted)
        log(`WARNING: the ${name} login pool ran out (${pool.size}); raise BENCH_LOGIN_POOL`);
    }
  } finally {
    await Promise.all(Object.values(contenders).map((contender) => contender.stop()));
    if (process.env.BENCH_KEEP !== '1') await releaseRedis(redis);
  }

  if (wanted('module-nocache:read@small') || wanted('module-nocache:read@large')) {
    const smallUrl = await recreateDatabase('nss_bench_small');
    const largeUrl = await recreateDatabase('nss_bench_large');
    // With the cache off: with its defaults (10,000 entries) it would hold most of the small
    // table's sessions and almost none of the large one's, and the pair would compare the cache,
    // not the table sizes.
    const small = contender('module-small', 'session-module.js', smallUrl, { BENCH_CACHE: 'off' });
    const large = contender('module-large', 'session-module.js', largeUrl, { BENCH_CACHE: 'off' });
    try {
      await Promise.all([small.start(), large.start()]);
      // Insert in batches so one statement never holds a huge transaction.
      const batch = 250_000;
      for (let from = 0; from < CONFIG.large; from += batch) {
        await seedModuleSessions(largeUrl, {
          prefix: 'scale-',
          from,
          count: Math.min(batch, CONFIG.large - from),
          userId: 'scale-user',
        });
      }
      await vacuum(largeUrl);
      await seedModuleSessions(smallUrl, {
        prefix: 'scale-',
        from: 0,
        count: CONFIG.small,
        userId: 'scale-user',
      });
      await vacuum(smallUrl);
      Object.assign(
        results,
        await measureInterleaved(
          [
            {
              id: 'module-nocache:read@small',
              contender: small,
              request: randomSession('/read', 'scale-', CONFIG.small),
            },
            {
              id: 'module-nocache:read@large',
              contender: large,
              request: randomSession('/read', 'scale-', CONFIG.large),
            },
          ],
          { warmup: CONFIG.scaleWarmup, duration: CONFIG.scaleDuration },
        ),
      );
    } finally {
      await Promise.all([small.stop(), large.stop()]);
    }
  }

  const checks = targets(results);
  const cacheChecks = cacheTargets(results);
  const loadAtEnd = loadavg();
  const loads = (load) => load.map((value) => value.toFixed(2)).join(', ');
  log(`load average at end: ${loads(loadAtEnd)}`);
  const redisNote = redis
    ? `Redis ${redis.settings.version} at ${redis.url} (${redis.started ? 'started by this run' : 'found running'}), ` +
      `appendonly ${redis.settings.appendonly}, appendfsync ${redis.settings.appendfsync}, ` +
      `save '${redis.settings.save}'` +
      (redis.settings.appendonly === 'yes' && redis.settings.appendfsync === 'always'
        ? ': a write reaches the disk before it is acknowledged.'
        : ': a write is acknowledged before it reaches the disk.')
    : `nestjs-session + connect-redis (Redis) skipped: ${skipped['nestjs-session-redis'] ?? 'not selected by BENCH_ONLY'}.`;
  const markdown = [
    `Benchmark of ${new Date().toISOString()} on ${process.platform}, Node ${process.version}, ` +
      `${cpus().length} cores (load average ${loads(loadAtStart)} at start, ${loads(loadAtEnd)} at end); ` +
      `autocannon, ${CONFIG.connections} connections, ` +
      `${CONFIG.warmup} s warm-up, ${CONFIG.runs} interleaved runs of ${CONFIG.duration} s ` +
      `(scale pair: ${CONFIG.scaleWarmup} s and ${CONFIG.runs} x ${CONFIG.scaleDuration} s). ` +
      "Median req/s; spread = half the min-max range over the median; SQL/req counted by each contender's pg client " +
      "(for the connect-redis contender: Redis commands); CPU µs/req: the contender process's CPU time " +
      '(user and system) over its measured runs, per request served.',
    '',
    table(results)
      .replace(/read@small/g, `read, ${CONFIG.small.toLocaleString('en')} sessions`)
      .replace(/read@large/g, `read, ${CONFIG.large.toLocaleString('en')} sessions`),
    '',
    'Settings: nest-session-security with its default options (CSRF on: the runner sends each ' +
      "session's token; secure `__Host-sid` cookie sent by the runner; the session cache on, " +
      'measured once usable), and the same with `cache: { enabled: false }` (cache off, a database ' +
      'of its own); nestjs-session with ' +
      'express-session `resave: false`, `saveUninitialized: false`, `rolling: false` and ' +
      'connect-pg-simple defaults; both on TypeORM/pg pools of 10; nestjs-session + connect-redis: ' +
      'the same nestjs-session application on connect-redis with its defaults (TTL one day, touch) ' +
      'and one `redis` client; the no-op interceptor contender: the ceiling plus one global ' +
      'interceptor that returns `next.handle()`; the guard contender: the ceiling plus one global ' +
      'async guard that returns `true`; the guard and parameter contender: the same guard, and ' +
      "a read route that takes one custom parameter decorator, as the package's read route takes " +
      '`@CurrentUserId()`; the write floor: one `UPDATE ... WHERE id_hash = $1` ' +
      'of a 10-row table per request, autocommit, `synchronous_commit = on`. read = GET of an ' +
      'authenticated session that changes nothing; write = POST that sets one key; login = a ' +
      'pre-login session with a cart signs in (`authenticate()`; express-session: `regenerate`, ' +
      'set, `save`, as its README shows). Every request carries what a browser sends from a ' +
      'page of the same origin: `Sec-Fetch-Site: same-origin`, and on a POST `Origin`. ' +
      'The scale pair reads sessions drawn at random from ' +
      'all stored ones, just after seeding (no touch due), with the session cache off, so the two ' +
      'differ only in table size.',
    '',
    ...checks.map((check) => `- ${check.text}`),
    '',
    '### Against the bounds (issue 17)',
    '',
    'Reads as ratios to the no-session ceiling, writes to the write floor (one primary-key UPDATE ' +
      'committed durably), both also to nestjs-session + connect-pg-simple; ratios of the medians above. ' +
      "CPU per request: the contender process's own CPU time (user and system, neither PostgreSQL's " +
      "nor the load generator's) over every measured run, divided by the requests it served, as a " +
      'ratio to the same figure of the bound: less swayed than req/s by what else shares the cores.',
    '',
    boundsTable(results, skipped),
    '',
    `Durability: PostgreSQL fsync ${postgres.fsync}, synchronous_commit ${postgres.synchronous_commit} ` +
      `(server default; the write floor's connections set it to on themselves), wal_sync_method ${postgres.wal_sync_method}. ${redisNote}`,
    '',
    "Issue 17's targets, for nest-session-security with its cache on (the default):",
    '',
    ...cacheChecks.map((check) => `- ${check.text}`),
    '',
    "The read and write targets take the median of each round's ratio: the package's run and " +
      "the other contender's run of the same round follow each other (its write comes between " +
      "the write floor's and connect-pg-simple's), so the machine's drift between rounds moves " +
      'both (the tables above give the ratios of the medians). ' +
      'SQL statements per write counts every statement the writes sent except the listening ' +
      "connection's heartbeat and, in each run, one re-read per session whose cached copy aged " +
      "past the cache's `maxAge` while the other scenarios ran; the table's SQL/req counts them all.",
    '',
  ].join('\n');
  console.log(`\n${markdown}`);

  const resultsDir = join(root, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(
    join(resultsDir, `${stamp}.json`),
    JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        config: CONFIG,
        loadAverage: { start: loadAtStart, end: loadAtEnd },
        postgres,
        redis: redis ? { url: redis.url, started: redis.started, ...redis.settings } : { skipped },
        results,
        targets: checks,
        cacheTargets: cacheChecks,
      },
      null,
      2,
    ) + '\n',
  );
  writeFileSync(join(resultsDir, 'latest.md'), markdown);
  if (process.env.BENCH_KEEP !== '1') {
    // The databases (one of them a million rows) are only needed while measuring.
    await withClient(serverUrl(), async (client) => {
      for (const name of [
        'nss_bench',
        'nss_bench_nocache',
        'nss_bench_express',
        'nss_bench_small',
        'nss_bench_large',
      ]) {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      }
    });
  }
  log(
    `done in ${((Date.now() - started) / 1000).toFixed(0)} s; results in bench/results/${stamp}.json and latest.md`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
