/**
 * `npm run bench:sockets`: live sign-out latency (issue 15), the time from a revocation to the
 * close of the revoked session's open WebSocket, on the local PostgreSQL, against two instances
 * of bench/contenders/sockets-module.ts (two processes on one database, driven over HTTP and
 * WebSocket from this one).
 *
 * Each revocation: a fresh user signs in twice, as the device that holds the socket (on instance
 * A) and as the device that revokes it (on A for "same instance", on B for "across instances");
 * the first opens a socket to A's /ws and waits for its hello; then the second sends POST
 * /logout-all or DELETE /sessions/<handle of the first>. Measured from just before that request
 * is sent to the socket's `close` event here (close code 4401, reason `session_revoked`), with
 * the arrival of the HTTP response in between; "close after response" is close minus response
 * (negative when the socket closed first).
 *
 * The cases run interleaved, one revocation of each in turn, after a warm-up. Throughout, A
 * holds BENCH_SOCKET_BYSTANDERS other signed-in sockets, as a server does: they keep its
 * listening connection open (the listener connects when the first socket opens and disconnects
 * when the last one closes) and are checked by every resync. The fallback cases kill A's
 * listening connection (`pg_terminate_backend`, waiting for the backend to exit) right before
 * the revocation: the notification is lost, and the socket is closed by the check of every open
 * socket that follows the reconnection (100 ms later) or by the 1 s sweep, whichever comes
 * first. Before the next revocation the runner waits until A listens again.
 *
 * Writes bench/results/sockets-<timestamp>.json and prints a markdown table.
 * Expects `npm run build` and `tsc -p bench/tsconfig.json` (the npm script runs both).
 * Environment: DATABASE_URL (server, default postgres://postgres@127.0.0.1:5432/postgres),
 * BENCH_SOCKET_REVOCATIONS (200 per case), BENCH_SOCKET_FALLBACK_REVOCATIONS (as many; 0 skips
 * the fallback cases), BENCH_SOCKET_WARMUP (10 per case), BENCH_SOCKET_BYSTANDERS (100),
 * BENCH_KEEP=1 (keep the database).
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { WebSocket } from 'ws';
import { dropDatabasesUnlessKept, recreateDatabase } from './database.mjs';
import { cells, logger, number, saveResults, summary } from './report.mjs';
import { instanceHttp } from './instance-http.mjs';
import { ContenderProcess } from './contender-process.mjs';

const DATABASE = 'nss_bench_sockets';
const COOKIE = '__Host-sid';
/** The close code and reason of a socket whose session was revoked (the package's contract). */
const CLOSE_CODE = 4401;
const CLOSE_REASON = 'session_revoked';
/** The `application_name` of each instance's listening connection (see the contender). */
const LISTEN_NAME = { a: 'nss_bench_listen_a', b: 'nss_bench_listen_b' };

const revocations = number('BENCH_SOCKET_REVOCATIONS', 200);
const CONFIG = {
  revocations,
  fallbackRevocations: number('BENCH_SOCKET_FALLBACK_REVOCATIONS', revocations),
  warmup: number('BENCH_SOCKET_WARMUP', 10),
  bystanders: number('BENCH_SOCKET_BYSTANDERS', 100),
  /** A socket still open this long after its revocation counts as a failure. */
  closeTimeoutMs: 10_000,
  /** How long A may take to listen again after its connection was killed. */
  relistenTimeoutMs: 10_000,
};

/**
 * `via`: the instance the revoking device is signed in on and sends its request to (the
 * socket is always on A); `kind`: the request; `kill`: kill A's listening connection first.
 */
const CASES = [
  { id: 'same-logout-all', via: 'a', kind: 'logout-all', kill: false },
  { id: 'same-device', via: 'a', kind: 'device', kill: false },
  { id: 'across-logout-all', via: 'b', kind: 'logout-all', kill: false },
  { id: 'across-device', via: 'b', kind: 'device', kill: false },
  { id: 'killed-same-logout-all', via: 'a', kind: 'logout-all', kill: true },
  { id: 'killed-across-logout-all', via: 'b', kind: 'logout-all', kill: true },
];
const LABEL = {
  a: 'same instance',
  b: 'across instances',
  'logout-all': 'POST /logout-all',
  device: 'DELETE /sessions/:handle',
};

const log = logger('sockets');

// ---------------------------------------------------------------------------------------------
// HTTP and WebSocket clients

const { http, signIn, close: closeHttp } = instanceHttp(COOKIE);

/**
 * Opens a socket to A's /ws with the session's cookie and resolves once its hello arrived, with
 * `closed`: a promise of {code, reason, at} for its close event, timed as it fires.
 */
function openSocket(instance, session, user) {
  const socket = new WebSocket(`${instance.base.replace(/^http/, 'ws')}/ws`, {
    headers: { cookie: session.cookie },
    agent: false,
  });
  const closed = new Promise((resolve) =>
    socket.on('close', (code, reason) =>
      resolve({ code, reason: reason.toString(), at: performance.now() }),
    ),
  );
  // A failure after the hello shows as a close that is not 4401 session_revoked.
  socket.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    socket.once('message', (raw) => {
      const message = JSON.parse(raw.toString());
      if (message.type === 'hello' && message.user === user) resolve({ socket, closed });
      else reject(new Error(`unexpected first message ${raw}`));
    });
    socket.once('unexpected-response', (_, res) =>
      reject(new Error(`handshake refused: ${res.statusCode}`)),
    );
    socket.once('error', reject);
    closed.then(({ code, reason }) => reject(new Error(`closed before hello: ${code} ${reason}`)));
  });
}

// ---------------------------------------------------------------------------------------------
// A's listening connection

/** The backends of A's listening connection that have sent LISTEN (and any statement after). */
async function listeningPids(client) {
  const { rows } = await client.query(
    `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query <> ''`,
    [LISTEN_NAME.a],
  );
  return rows.map((row) => row.pid);
}

/**
 * Kills A's listening connection and waits until its backend is gone (polling, since
 * `pg_terminate_backend(pid, timeout)` waits in 100 ms steps, by when A has reconnected).
 */
async function killListener(client) {
  const { rows } = await client.query(
    `SELECT pid, pg_terminate_backend(pid) AS killed
     FROM pg_stat_activity WHERE application_name = $1`,
    [LISTEN_NAME.a],
  );
  if (rows.length !== 1 || !rows[0].killed) {
    throw new Error(`expected one listening connection of A to kill: ${JSON.stringify(rows)}`);
  }
  const { pid } = rows[0];
  for (;;) {
    const alive = await client.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
    if (alive.rowCount === 0) return pid;
  }
}

/** Waits until A listens on a connection other than `killedPid`; resolves with the wait in ms. */
async function awaitListening(client, killedPid) {
  const started = performance.now();
  while (performance.now() - started < CONFIG.relistenTimeoutMs) {
    const pids = await listeningPids(client);
    if (pids.length === 1 && pids[0] !== killedPid) return performance.now() - started;
    await sleep(5);
  }
  throw new Error(`A did not listen again within ${CONFIG.relistenTimeoutMs} ms`);
}

// ---------------------------------------------------------------------------------------------
// One revocation

let users = 0;

async function revokeOnce(instances, db, testCase) {
  const user = `${testCase.id}-${++users}`;
  const holder = await signIn(instances.a, user);
  const revoker = await signIn(instances[testCase.via], user);
  const { closed } = await openSocket(instances.a, holder, user);
  const killedAt = performance.now();
  const killedPid = testCase.kill ? await killListener(db) : undefined;

  const headers = { cookie: revoker.cookie, 'x-csrf-token': revoker.csrf };
  const [method, path] =
    testCase.kind === 'logout-all'
      ? ['POST', '/logout-all']
      : ['DELETE', `/sessions/${holder.handle}`];
  const started = performance.now();
  const response = await http(instances[testCase.via], method, path, headers);
  const expected = testCase.kind === 'logout-all' ? 200 : 204;
  if (response.status !== expected) {
    throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
  }
  let timer;
  const close = await Promise.race([
    closed,
    new Promise((resolve) => (timer = setTimeout(resolve, CONFIG.closeTimeoutMs, null))),
  ]);
  clearTimeout(timer);
  const run = {
    responseMs: response.at - started,
    closeMs: close ? close.at - started : null,
    closeAfterResponseMs: close ? close.at - response.at : null,
    close: close ? { code: close.code, reason: close.reason } : 'open',
  };
  run.ok = close !== null && close.code === CLOSE_CODE && close.reason === CLOSE_REASON;
  if (testCase.kill) {
    run.killToRevocationMs = started - killedAt;
    // Looked at only once the socket closed, not to load the database meanwhile: an upper bound.
    await awaitListening(db, killedPid);
    run.listeningAgainByMs = performance.now() - killedAt;
  }
  return run;
}

// ---------------------------------------------------------------------------------------------
// Statistics and report

function markdown(results, started) {
  const lines = [
    `Live sign-out benchmark of ${new Date(started).toISOString()} on ${process.platform}, ` +
      `Node ${process.version}, ${cpus().length} cores (PostgreSQL, both instances and this ` +
      `runner on the same machine; 1-minute load average ${results.loadavg.start[0].toFixed(2)} ` +
      `at the start, ${results.loadavg.end[0].toFixed(2)} at the end). Instance A holds the ` +
      `socket and ${CONFIG.bystanders} other open sockets; the revoking device is signed in on ` +
      'A (same instance) or B (across instances). Times in ms from just before the revoking ' +
      'request is sent: median / p90 / p99 / max.',
    '',
    '| listening connection | revoked through | request | revocations | revocation → socket closed | revocation → HTTP response | close after response | not closed as 4401 session_revoked |',
    '|---|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const testCase of CASES) {
    const r = results.cases[testCase.id];
    if (!r) continue;
    lines.push(
      `| ${testCase.kill ? 'killed before each revocation' : 'up'} | ${LABEL[testCase.via]} | ` +
        `${LABEL[testCase.kind]} | ${r.runs.length} | ${cells(r.close)} | ${cells(r.response)} | ` +
        `${cells(r.closeAfterResponse)} | ${r.failures} |`,
    );
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  log('config', JSON.stringify(CONFIG));
  const url = await recreateDatabase(DATABASE);
  const listenUrl = (name) => {
    const listen = new URL(url);
    listen.searchParams.set('application_name', name);
    return listen.toString();
  };
  const instances = {};
  const bystanders = [];
  const db = new pg.Client({ connectionString: url });
  const results = { loadavg: { start: loadavg() }, cases: {} };
  try {
    // A first: its migrations create the tables B finds.
    for (const key of ['a', 'b']) {
      const contender = new ContenderProcess(
        `sockets-${key}`,
        'sockets-module.js',
        { BENCH_DATABASE_URL: url, BENCH_LISTEN_URL: listenUrl(LISTEN_NAME[key]) },
        [],
        log,
      );
      instances[key] = Object.assign(contender, { key });
      await contender.start();
    }
    await db.connect();

    log(`opening ${CONFIG.bystanders} other sockets on A`);
    for (let i = 0; i < CONFIG.bystanders; i++) {
      const user = `bystander-${i}`;
      bystanders.push(await openSocket(instances.a, await signIn(instances.a, user), user));
    }
    await awaitListening(db, undefined);

    const cases = CASES.filter((testCase) => !testCase.kill || CONFIG.fallbackRevocations > 0);
    log(`warm-up: ${CONFIG.warmup} revocations per case`);
    for (let i = 0; i < CONFIG.warmup; i++) {
      for (const testCase of cases.filter((c) => !c.kill)) {
        await revokeOnce(instances, db, testCase);
      }
    }
    const runs = Object.fromEntries(cases.map((testCase) => [testCase.id, []]));
    const rounds = Math.max(CONFIG.revocations, CONFIG.fallbackRevocations);
    log(`${rounds} rounds of ${cases.map((testCase) => testCase.id).join(', ')}`);
    for (let i = 0; i < rounds; i++) {
      for (const testCase of cases) {
        const wanted = testCase.kill ? CONFIG.fallbackRevocations : CONFIG.revocations;
        if (i < wanted) runs[testCase.id].push(await revokeOnce(instances, db, testCase));
      }
      if ((i + 1) % 50 === 0) log(`  ${i + 1} rounds`);
    }
    for (const testCase of cases) {
      const list = runs[testCase.id];
      results.cases[testCase.id] = {
        ...testCase,
        close: summary(list.map((run) => run.closeMs)),
        response: summary(list.map((run) => run.responseMs)),
        closeAfterResponse: summary(list.map((run) => run.closeAfterResponseMs)),
        failures: list.filter((run) => !run.ok).length,
        closes: [...new Set(list.map((run) => JSON.stringify(run.close)))],
        runs: list,
      };
      log(`  ${testCase.id}: close ${cells(results.cases[testCase.id].close)} ms`);
    }
    results.loadavg.end = loadavg();
  } finally {
    for (const { socket } of bystanders) socket.terminate();
    await db.end().catch(() => undefined);
    for (const instance of Object.values(instances)) await instance.stop();
    closeHttp();
  }

  const table = markdown(results, started);
  console.log(`\n${table}\n`);
  const file = saveResults('sockets', started, { config: CONFIG, results, markdown: table });
  await dropDatabasesUnlessKept(DATABASE);
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s; results in ${file}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
