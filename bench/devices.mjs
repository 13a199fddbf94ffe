/**
 * `npm run bench:devices`: the device-management figures of issue 5, in one run, on the local
 * PostgreSQL, against bench/contenders/devices-module.ts (this package from dist/, default
 * options except `gcInterval: false`; its own process, driven over HTTP from this one).
 *
 * 1. `SessionService.logoutAll(userId)` for a user with 1,000 active sessions and, as the
 *    reference, 10 (each user also has BENCH_REMEMBERED remember-me tokens). Each repetition
 *    reseeds the user (one INSERT ... SELECT generate_series), signs in as one of the sessions
 *    (cookie; CSRF token from GET /csrf) and calls POST /logout-all; reports the HTTP round trip
 *    and the time of the `logoutAll` call in the server, median and min-max, and the statements
 *    the call sent (traced by the contender's pg client), plus EXPLAIN ANALYZE of the session
 *    statement (rolled back). Measured on the session table with the live sessions only, and
 *    again (fewer repetitions) once the expired rows of part 2 are in it too.
 * 2. Garbage collection of 1,000,000 expired rows while authenticated reads are served:
 *    10,000 live sessions plus the expired rows; GET /read of random live sessions with
 *    autocannon (10 connections) for a baseline window, then again while POST /gc runs
 *    `SessionGarbageCollector.collect()` (the load window ends when GC answers, so its latency
 *    covers the GC window only), then a window after GC. Once per gcBatchSize (a contender
 *    process each), reseeding the expired rows every time.
 *
 * Writes bench/results/devices-<timestamp>.json and prints markdown tables.
 * Expects `npm run build` and `tsc -p bench/tsconfig.json` (the npm script runs both).
 * Environment: DATABASE_URL (server, default postgres://postgres@127.0.0.1:5432/postgres),
 * BENCH_DEVICES_REPS (10), BENCH_DEVICES_LARGE_REPS (5), BENCH_REMEMBERED (10), BENCH_LIVE
 * (10000), BENCH_EXPIRED (1000000), BENCH_GC_BATCHES (comma-separated gcBatchSize values,
 * "1000,10000"), BENCH_GC_BASELINE (seconds, 10), BENCH_GC_AFTER (seconds, 10), BENCH_WARMUP
 * (seconds, 3), BENCH_KEEP=1 (keep the database).
 */
import autocannon from 'autocannon';
import { request as httpRequest } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import {
  dropDatabasesUnlessKept,
  recreateDatabase,
  SQL_TOKEN,
  tokenOf,
  withClient,
} from './database.mjs';
import { logger, number, saveResults } from './report.mjs';
import { ContenderProcess } from './contender-process.mjs';

const DATABASE = 'nss_bench_devices';
const COOKIE = '__Host-sid';

const CONFIG = {
  connections: 10,
  reps: number('BENCH_DEVICES_REPS', 10),
  /** Repetitions of logoutAll again once the expired rows are in the table (0: skip). */
  largeReps: number('BENCH_DEVICES_LARGE_REPS', 5),
  sizes: [1000, 10],
  remembered: number('BENCH_REMEMBERED', 10),
  live: number('BENCH_LIVE', 10_000),
  expired: number('BENCH_EXPIRED', 1_000_000),
  gcBatches: (process.env.BENCH_GC_BATCHES ?? '1000,10000').split(',').map(Number),
  warmup: number('BENCH_WARMUP', 3),
  baseline: number('BENCH_GC_BASELINE', 10),
  after: number('BENCH_GC_AFTER', 10),
  /** The GC window's load stops when GC answers; this only bounds a GC that never does. */
  maxGcWindow: 600,
};
const log = logger('devices');

// ---------------------------------------------------------------------------------------------
// Database

/**
 * One INSERT ... SELECT generate_series of sessions by the storage contract: id_hash =
 * SHA-256(token), csrf_secret = SHA-256('csrf-' || token). `user` and `times` are SQL
 * expressions (of `i` and `t.token`); `times` gives created_at, last_seen_at and expires_at.
 */
function seedSessions(client, { prefix, from, count, user, times }) {
  return client.query(
    `INSERT INTO "session" (id_hash, handle, user_id, data, created_at, authenticated_at,
       last_seen_at, rotated_at, expires_at, ip, user_agent, csrf_secret, presented_at)
     SELECT sha256(convert_to(t.token, 'UTF8')), md5(t.token), ${user},
       '{"cart":[{"sku":"a-1","qty":1}]}'::jsonb, x.created_at, x.created_at,
       x.last_seen_at, x.created_at, x.expires_at, '127.0.0.1',
       'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0',
       sha256(convert_to('csrf-' || t.token, 'UTF8')), x.created_at
     FROM generate_series($1::int, $2::int) AS i,
       LATERAL (SELECT ${SQL_TOKEN(prefix)} AS token) AS t,
       LATERAL (SELECT ${times}) AS x`,
    [from, from + count - 1],
  );
}

const LIVE_TIMES = `now() AS created_at, now() AS last_seen_at, now() + interval '30 minutes' AS expires_at`;
/** Expired between 1 minute and ~22 hours ago, in an order unrelated to insertion. */
const EXPIRED_TIMES = `now() - interval '2 days' AS created_at,
  now() - interval '1 day' AS last_seen_at,
  now() - interval '1 minute' - ((i::bigint * 7919) % 1000003) * interval '80 ms' AS expires_at`;

async function vacuum(url) {
  await withClient(url, async (client) => {
    await client.query('VACUUM (ANALYZE) "session", "remember_me_token"');
    await client.query('CHECKPOINT');
  });
}

/** Every live session "seen just now", so that the reads of a window are due no touch. */
async function refreshLive(url) {
  await withClient(url, (client) =>
    client.query(
      `UPDATE "session" SET last_seen_at = now() WHERE expires_at > now() AND revoked_at IS NULL`,
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Contender process (the IPC protocol of bench/contenders/harness.ts)

/** One HTTP request with no client-side timeout (GC may take minutes); resolves {status, body}. */
function http(method, url, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode, body: text ? JSON.parse(text) : null });
        } catch (error) {
          reject(error);
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// Statistics

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const spread = (values) => ({
  median: median(values),
  min: Math.min(...values),
  max: Math.max(...values),
});
const fmt = (value, digits = 1) =>
  Number.isFinite(value)
    ? value.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : 'n/a';
const ratio = (value, reference) => (reference ? `${(value / reference).toFixed(2)}x` : 'n/a');

// ---------------------------------------------------------------------------------------------
// 1. logoutAll

async function seedUser(url, { user, size, prefix }) {
  await withClient(url, async (client) => {
    await client.query('DELETE FROM "session" WHERE user_id = $1', [user]);
    await client.query('DELETE FROM "remember_me_token" WHERE user_id = $1', [user]);
    await seedSessions(client, {
      prefix,
      from: 0,
      count: size,
      user: `'${user}'`,
      times: LIVE_TIMES,
    });
    await client.query(
      `INSERT INTO "remember_me_token" (selector, handle, user_id, validator_hash, created_at,
         last_used_at, expires_at, ip, user_agent)
       SELECT 'rm-' || $2 || i, md5('rm-' || $2 || i), $1, sha256(convert_to('v-' || $2 || i, 'UTF8')),
         now(), now(), now() + interval '30 days', '127.0.0.1', 'autocannon'
       FROM generate_series(1, $3::int) AS i`,
      [user, prefix, CONFIG.remembered],
    );
    await client.query('VACUUM (ANALYZE) "session", "remember_me_token"');
  });
}

async function logoutAllOnce(contender, url, size, rep) {
  const user = `la-user-${size}`;
  const prefix = `la-${size}-${rep}-`;
  await seedUser(url, { user, size, prefix });
  const cookie = `${COOKIE}=${tokenOf(prefix, 0)}`;
  const csrf = await http('GET', `${contender.base}/csrf`, { cookie });
  if (csrf.status !== 200) throw new Error(`GET /csrf: ${csrf.status}`);
  const before = await contender.stats();
  const started = performance.now();
  const response = await http('POST', `${contender.base}/logout-all`, {
    cookie,
    'x-csrf-token': csrf.body.token,
  });
  const httpMs = performance.now() - started;
  const after = await contender.stats();
  if (response.status !== 200)
    throw new Error(`POST /logout-all: ${response.status} ${JSON.stringify(response.body)}`);
  const check = await withClient(url, async (client) => {
    const sessions = await client.query(
      `SELECT count(*)::int AS total, count(*) FILTER (WHERE revoked_at IS NOT NULL)::int AS revoked
       FROM "session" WHERE user_id = $1`,
      [user],
    );
    const remembered = await client.query(
      'SELECT count(*)::int AS n FROM "remember_me_token" WHERE user_id = $1',
      [user],
    );
    return { ...sessions.rows[0], remembered: remembered.rows[0].n };
  });
  if (response.body.count !== size || check.revoked !== size || check.remembered !== 0) {
    throw new Error(
      `logoutAll of ${size}: ended ${response.body.count}, ${JSON.stringify(check)} in the database`,
    );
  }
  return {
    httpMs,
    serverMs: response.body.ms,
    count: response.body.count,
    statements: response.body.statements,
    requestStatements: after.total - before.total,
    requestByVerb: Object.fromEntries(
      Object.entries(after.byVerb)
        .map(([verb, n]) => [verb, n - (before.byVerb[verb] ?? 0)])
        .filter(([, n]) => n),
    ),
  };
}

/** EXPLAIN ANALYZE (rolled back) of the session statement of logoutAll, on a reseeded user. */
async function explainRevoke(url, size, statement) {
  await seedUser(url, { user: `la-user-${size}`, size, prefix: `la-${size}-explain-` });
  return withClient(url, async (client) => {
    await client.query('BEGIN');
    try {
      const { rows } = await client.query(
        `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${statement.text}`,
        statement.values,
      );
      const plan = rows[0]['QUERY PLAN'][0];
      const indexes = new Set();
      const nodes = new Set();
      const walk = (node) => {
        nodes.add(node['Node Type']);
        if (node['Index Name']) indexes.add(node['Index Name']);
        (node.Plans ?? []).forEach(walk);
      };
      walk(plan.Plan);
      return {
        executionMs: plan['Execution Time'],
        planningMs: plan['Planning Time'],
        indexes: [...indexes],
        nodes: [...nodes],
      };
    } finally {
      await client.query('ROLLBACK');
    }
  });
}

async function measureLogoutAll(contender, url, reps) {
  const tableRows = await withClient(url, async (client) => {
    const { rows } = await client.query('SELECT count(*)::int AS n FROM "session"');
    return rows[0].n;
  });
  log(
    `logoutAll (session table ${tableRows} rows): warm-up, then ${reps} interleaved repetitions of ${CONFIG.sizes}`,
  );
  for (const size of CONFIG.sizes) await logoutAllOnce(contender, url, size, 'warmup');
  const runs = Object.fromEntries(CONFIG.sizes.map((size) => [size, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (const size of CONFIG.sizes)
      runs[size].push(await logoutAllOnce(contender, url, size, rep));
  }
  const results = {};
  for (const size of CONFIG.sizes) {
    const list = runs[size];
    const last = list.at(-1);
    const sessionStatement = last.statements.find((s) => / session$/.test(s.kind));
    results[size] = {
      sessions: size,
      remembered: CONFIG.remembered,
      http: spread(list.map((run) => run.httpMs)),
      server: spread(list.map((run) => run.serverMs)),
      statementMs: Object.fromEntries(
        last.statements.map((s, index) => [
          `${index + 1}. ${s.kind}`,
          spread(list.map((run) => run.statements[index]?.ms ?? NaN)),
        ]),
      ),
      statements: last.statements.map((s) => s.kind),
      statementsPerCall: spread(list.map((run) => run.statements.length)),
      requestStatements: spread(list.map((run) => run.requestStatements)),
      requestByVerb: last.requestByVerb,
      sql: Object.fromEntries(last.statements.map((s) => [s.kind, s.text.replace(/\s+/g, ' ')])),
      explain: sessionStatement ? await explainRevoke(url, size, sessionStatement) : null,
      tableRows,
      reps,
      runs: list.map(({ statements, ...run }) => ({
        ...run,
        statements: statements.map((s) => ({ kind: s.kind, ms: s.ms })),
      })),
    };
    log(
      `  logoutAll ${size}: median ${results[size].http.median.toFixed(1)} ms over HTTP, ` +
        `${results[size].server.median.toFixed(1)} ms in logoutAll, statements ${results[size].statements.join(' + ')}`,
    );
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// 2. Garbage collection under load

async function seedExpired(url) {
  const started = Date.now();
  const batch = 250_000;
  for (let from = 0; from < CONFIG.expired; from += batch) {
    await withClient(url, (client) =>
      seedSessions(client, {
        prefix: 'expired-',
        from,
        count: Math.min(batch, CONFIG.expired - from),
        user: `'old-user-' || (i % 100000)`,
        times: EXPIRED_TIMES,
      }),
    );
  }
  await vacuum(url);
  log(`seeded ${CONFIG.expired} expired sessions in ${Date.now() - started} ms (with VACUUM)`);
}

function readRequest(cookies) {
  return {
    method: 'GET',
    path: '/read',
    setupRequest: (request) => ({
      ...request,
      headers: {
        ...request.headers,
        cookie: cookies[Math.floor(Math.random() * cookies.length)],
      },
    }),
  };
}

/**
 * Authenticated reads for `duration` seconds, or until `until` settles (then the load stops
 * within autocannon's 100 ms sampling interval).
 */
async function loadWindow(contender, cookies, { duration, until }) {
  const before = await contender.stats();
  let instance;
  const result = await new Promise((resolve, reject) => {
    instance = autocannon(
      {
        url: contender.base,
        connections: CONFIG.connections,
        duration: until ? CONFIG.maxGcWindow : duration,
        sampleInt: 100,
        requests: [readRequest(cookies)],
      },
      (error, output) => (error ? reject(error) : resolve(output)),
    );
    instance.on('error', reject);
    until?.finally(() => instance.stop());
  });
  const after = await contender.stats();
  return {
    seconds: result.duration,
    rps: result.requests.total / result.duration,
    requests: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    p99_9: result.latency.p99_9,
    max: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    served: after.requests - before.requests,
    statements: after.total - before.total,
  };
}

async function measureGc(url, batchSize, cookies, contender) {
  log(`GC with gcBatchSize ${batchSize}`);
  await refreshLive(url);
  await loadWindow(contender, cookies, { duration: CONFIG.warmup });
  const baseline = await loadWindow(contender, cookies, { duration: CONFIG.baseline });
  baseline.sqlPerRequest = baseline.statements / baseline.served;
  log(
    `  baseline: ${baseline.rps.toFixed(0)} req/s, p50 ${baseline.p50} ms, p99 ${baseline.p99} ms`,
  );

  await refreshLive(url);
  const gcStarted = performance.now();
  const gcRequest = http('POST', `${contender.base}/gc`);
  const during = await loadWindow(contender, cookies, { until: gcRequest });
  const gcResponse = await gcRequest;
  const gcWallMs = performance.now() - gcStarted;
  if (gcResponse.status !== 200) throw new Error(`POST /gc: ${gcResponse.status}`);
  const gc = { ...gcResponse.body, wallMs: gcWallMs };
  gc.rowsPerSecond = gc.deleted / (gc.ms / 1000);
  during.sqlPerRequest = (during.statements - gc.batches) / during.served;
  log(
    `  GC: ${gc.deleted} rows in ${(gc.ms / 1000).toFixed(1)} s (${gc.batches} batches); ` +
      `during: ${during.rps.toFixed(0)} req/s, p50 ${during.p50} ms, p99 ${during.p99} ms over ${during.seconds} s`,
  );

  await refreshLive(url);
  const afterGc = await loadWindow(contender, cookies, { duration: CONFIG.after });
  afterGc.sqlPerRequest = afterGc.statements / afterGc.served;
  log(`  after: ${afterGc.rps.toFixed(0)} req/s, p50 ${afterGc.p50} ms, p99 ${afterGc.p99} ms`);

  const left = await withClient(url, (client) =>
    client.query(`SELECT count(*)::int AS n FROM "session" WHERE expires_at <= now()`),
  );
  gc.expiredLeft = left.rows[0].n;
  return { batchSize, gc, baseline, during, after: afterGc };
}

// ---------------------------------------------------------------------------------------------
// Report

function markdown(results, started) {
  const lines = [];
  lines.push(
    `Device-management benchmark of ${new Date(started).toISOString()} on ${process.platform}, ` +
      `Node ${process.version}, ${cpus().length} cores (PostgreSQL, contender and autocannon on ` +
      'the same machine; 1-minute load average at the phases: ' +
      `${results.load.map((entry) => `${entry.phase} ${entry.loadavg[0].toFixed(2)}`).join(', ')}).`,
    '',
    `**logoutAll** (each repetition on a freshly seeded user with ${CONFIG.remembered} ` +
      'remember-me tokens, after a warm-up; times in ms, median (min-max); HTTP = POST ' +
      '/logout-all round trip, call = `logoutAll` inside the server, DB = EXPLAIN ANALYZE of ' +
      'its session statement, rolled back; table rows = other rows in the session table)',
    '',
    '| table rows | sessions of the user | reps | HTTP ms | call ms | DB ms | sessions ended | statements in logoutAll | SQL per request |',
    '|---:|---:|---:|---:|---:|---:|---:|---|---:|',
  );
  const cell = (s) => `${fmt(s.median)} (${fmt(s.min)}-${fmt(s.max)})`;
  for (const set of results.logoutAll) {
    for (const size of CONFIG.sizes) {
      const r = set[size];
      lines.push(
        `| ${r.tableRows.toLocaleString('en')} | ${size.toLocaleString('en')} | ${r.reps} | ` +
          `${cell(r.http)} | ${cell(r.server)} | ${fmt(r.explain?.executionMs)} | ` +
          `${r.runs.every((run) => run.count === size) ? size.toLocaleString('en') : 'MISMATCH'} | ` +
          `${r.statements.length}: ${r.statements.join(' + ')} | ${r.requestStatements.median} |`,
      );
    }
    const [big, small] = CONFIG.sizes.map((size) => set[size]);
    lines.push(
      `| | ratio ${CONFIG.sizes[0]} / ${CONFIG.sizes[1]} | | ${ratio(big.http.median, small.http.median)} | ` +
        `${ratio(big.server.median, small.server.median)} | ` +
        `${ratio(big.explain?.executionMs, small.explain?.executionMs)} | | | |`,
    );
  }
  lines.push(
    '',
    `**Garbage collection** of ${CONFIG.expired.toLocaleString('en')} expired rows beside ` +
      `${CONFIG.live.toLocaleString('en')} live sessions, while GET /read of random live ` +
      `sessions runs (autocannon, ${CONFIG.connections} connections). "no GC" = ` +
      `${CONFIG.baseline} s before; "during GC" = exactly the GC window; "after GC" = ` +
      `${CONFIG.after} s after (dead rows not yet vacuumed). Latency in ms.`,
    '',
    '| gcBatchSize | rows deleted | GC s | rows/s | statements (batch ms p50 / max) |',
    '|---:|---:|---:|---:|---|',
  );
  for (const run of results.gc) {
    lines.push(
      `| ${run.batchSize.toLocaleString('en')} | ${run.gc.deleted.toLocaleString('en')} | ` +
        `${fmt(run.gc.ms / 1000, 2)} | ${fmt(run.gc.rowsPerSecond, 0)} | ${run.gc.batches} ` +
        `(${fmt(run.gc.batchMs.p50)} / ${fmt(run.gc.batchMs.max)}) |`,
    );
  }
  lines.push(
    '',
    '| gcBatchSize | window | s | req/s | p50 | p99 | p99.9 | max | SQL/req | req/s vs no GC | p50 vs no GC | p99 vs no GC |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const run of results.gc) {
    for (const [label, w] of [
      ['no GC', run.baseline],
      ['during GC', run.during],
      ['after GC', run.after],
    ]) {
      const flags = w.non2xx || w.errors ? ` (${w.non2xx} non-2xx, ${w.errors} errors)` : '';
      lines.push(
        `| ${run.batchSize.toLocaleString('en')} | ${label}${flags} | ${fmt(w.seconds)} | ` +
          `${fmt(w.rps, 0)} | ${w.p50} | ${w.p99} | ${w.p99_9} | ${w.max} | ${fmt(w.sqlPerRequest, 3)} | ` +
          `${label === 'no GC' ? '' : ratio(w.rps, run.baseline.rps)} | ` +
          `${label === 'no GC' ? '' : ratio(w.p50, run.baseline.p50)} | ` +
          `${label === 'no GC' ? '' : ratio(w.p99, run.baseline.p99)} |`,
      );
    }
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  log('config', JSON.stringify(CONFIG));
  const url = await recreateDatabase(DATABASE);
  const results = { load: [], logoutAll: [], gc: [] };
  const cookies = Array.from({ length: CONFIG.live }, (_, i) => `${COOKIE}=${tokenOf('live-', i)}`);
  let contender;
  try {
    for (const [index, batchSize] of CONFIG.gcBatches.entries()) {
      contender = new ContenderProcess(
        `devices-gc${batchSize}`,
        'devices-module.js',
        { BENCH_DATABASE_URL: url, BENCH_GC_BATCH: String(batchSize) },
        [],
        log,
      );
      await contender.start(); // its migration creates the tables on the first start
      if (index === 0) {
        await withClient(url, (client) =>
          seedSessions(client, {
            prefix: 'live-',
            from: 0,
            count: CONFIG.live,
            user: `'live-user-' || i`,
            times: LIVE_TIMES,
          }),
        );
        await vacuum(url);
        results.load.push({ phase: 'logoutAll', loadavg: loadavg() });
        results.logoutAll.push(await measureLogoutAll(contender, url, CONFIG.reps));
      }
      await seedExpired(url);
      if (index === 0 && CONFIG.largeReps > 0) {
        // The same calls with the expired rows in the table too (the planner sees a large table).
        results.logoutAll.push(await measureLogoutAll(contender, url, CONFIG.largeReps));
        await vacuum(url);
      }
      results.load.push({ phase: `gc ${batchSize}`, loadavg: loadavg() });
      results.gc.push(await measureGc(url, batchSize, cookies, contender));
      await contender.stop();
      contender = undefined;
    }
  } finally {
    await contender?.stop();
  }

  const table = markdown(results, started);
  console.log(`\n${table}\n`);
  const file = saveResults('devices', started, { config: CONFIG, results, markdown: table });
  await dropDatabasesUnlessKept(DATABASE);
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s; results in ${file}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
