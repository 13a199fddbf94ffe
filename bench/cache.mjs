/**
 * `npm run bench:cache`: the session cache (issue 17) across two instances of
 * bench/contenders/cache-module.ts (this package with its default options, the cache on; two
 * processes on one fresh database, driven over HTTP and IPC from this one).
 *
 * 1. Revocation across instances: for each of BENCH_CACHE_REVOCATIONS fresh users, a device
 *    signs in on A (the revoker), another on B, which reads until B keeps its session in its
 *    cache (the third read is a cache hit: checked over IPC); then the A device revokes the B
 *    device (DELETE /sessions/<handle> and POST /logout-all, in turn) and this runner polls B
 *    with the revoked cookie, one request after the other on one keep-alive connection, until B
 *    answers 401. Measured from the arrival of A's response to the arrival of B's first 401 (and,
 *    as a lower bound, to the sending of the poll that got it); every 200 after A's response is a
 *    stale answer, counted.
 * 2. Reads of other sessions on B meanwhile: a child process (bench/cache-load.mjs) sends GET
 *    /read to B at a fixed rate (BENCH_CACHE_LOAD_RATE) with the cookies of
 *    BENCH_CACHE_LOAD_SESSIONS other signed-in users, before the revocations (alone), during
 *    them, and after them (alone again); p50 and p99 of each, and the ratios of the run during
 *    the revocations to the mean of the two alone.
 * 3. Memory: B is stopped; BENCH_CACHE_MEMORY_SESSIONS sessions are seeded into the table by SQL
 *    and read once each, in A's process, through the repository's `findByHashes` (the call the
 *    guard makes for a request; HTTP would take too long for a million on this machine),
 *    BENCH_CACHE_MEMORY_CONCURRENCY at a time, in chunks of 100,000; after each chunk, the cache's
 *    size and weight against its bounds and the heap; then 100,000 more reads (of sessions the
 *    cache has let go) and a forced garbage collection (A runs with --expose-gc).
 *
 * Writes bench/results/cache-<timestamp>.json and bench/results/cache-latest.md.
 * Expects `npm run build` and `tsc -p bench/tsconfig.json` (the npm script runs both).
 * Environment: DATABASE_URL (server, default postgres://postgres@127.0.0.1:5432/postgres),
 * BENCH_CACHE_REVOCATIONS (1000), BENCH_CACHE_WARMUP (20 revocations first, not counted),
 * BENCH_CACHE_LOAD_RATE (requests/s, 300), BENCH_CACHE_LOAD_SESSIONS (10; as many
 * connections), BENCH_CACHE_LOAD_SECONDS (each run alone, 20), BENCH_CACHE_MEMORY_SESSIONS
 * (1000000; 0 skips the memory part), BENCH_CACHE_MEMORY_CONCURRENCY (10, the pool's size),
 * BENCH_CPU_PROF=1 (the instances write V8 CPU profiles to dist-bench/profiles), BENCH_KEEP=1
 * (keep the database `nss_bench_cache`).
 */
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { dropDatabasesUnlessKept, recreateDatabase, seedSessions, vacuum } from './database.mjs';
import { cells, fmt, logger, number, RESULTS, saveResults, summary } from './report.mjs';
import { instanceHttp } from './instance-http.mjs';
import { ContenderProcess, OUT } from './contender-process.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const DATABASE = 'nss_bench_cache';
const COOKIE = '__Host-sid';
const MEMORY_CHUNK = 100_000;

const CONFIG = {
  revocations: number('BENCH_CACHE_REVOCATIONS', 1000),
  warmup: number('BENCH_CACHE_WARMUP', 20),
  loadRate: number('BENCH_CACHE_LOAD_RATE', 300),
  loadSessions: number('BENCH_CACHE_LOAD_SESSIONS', 10),
  loadSeconds: number('BENCH_CACHE_LOAD_SECONDS', 20),
  memorySessions: number('BENCH_CACHE_MEMORY_SESSIONS', 1_000_000),
  memoryConcurrency: number('BENCH_CACHE_MEMORY_CONCURRENCY', 10),
  /** B still answering 200 this long after A's response counts as a failure. */
  pollTimeoutMs: 10_000,
  cpuProf: process.env.BENCH_CPU_PROF === '1',
};
/** The package's defaults for option `cache` (the bounds the memory part checks). */
const CACHE_BOUNDS = { maxEntries: 10_000, maxBytes: 32 * 1024 * 1024, maxAgeMs: 5_000 };

const log = logger('cache');

// ---------------------------------------------------------------------------------------------
// HTTP

const { http, signIn, close: closeHttp } = instanceHttp(COOKIE);

async function read(instance, session) {
  return http(instance, 'GET', '/read', { cookie: session.cookie });
}

// ---------------------------------------------------------------------------------------------
// 1. One revocation

let users = 0;

/**
 * A device signs in on A and one on B; B caches the second (the third read must be a hit); A
 * revokes it; B is polled until it refuses it.
 */
async function revokeOnce(instances, kind) {
  const user = `revoked-${++users}`;
  const revoker = await signIn(instances.a, user);
  const held = await signIn(instances.b, user);
  // The first read presents the new session ID (an UPDATE), the second keeps the row in B's
  // cache, the third is answered from it.
  for (let n = 0; n < 2; n++) {
    const { status } = await read(instances.b, held);
    if (status !== 200) throw new Error(`read on B: ${status}`);
  }
  const hitsBefore = (await instances.b.process.ask({ type: 'cache' })).cache.hits;
  const third = await read(instances.b, held);
  const hitsAfter = (await instances.b.process.ask({ type: 'cache' })).cache.hits;
  if (third.status !== 200) throw new Error(`read on B: ${third.status}`);

  const headers = { cookie: revoker.cookie, 'x-csrf-token': revoker.csrf };
  const [method, path, expected] =
    kind === 'logout-all'
      ? ['POST', '/logout-all', 200]
      : ['DELETE', `/sessions/${held.handle}`, 204];
  const sent = performance.now();
  const response = await http(instances.a, method, path, headers);
  if (response.status !== expected) {
    throw new Error(`${method} ${path} on A: ${response.status} ${JSON.stringify(response.body)}`);
  }
  let stale = 0;
  for (;;) {
    const pollSent = performance.now();
    const poll = await read(instances.b, held);
    if (poll.status === 401) {
      return {
        kind,
        cachedBeforeRevocation: hitsAfter > hitsBefore,
        revocationMs: response.at - sent,
        refusedMs: poll.at - response.at,
        refusingPollSentMs: pollSent - response.at,
        stale,
      };
    }
    if (poll.status !== 200) throw new Error(`poll on B: ${poll.status}`);
    stale++;
    if (poll.at - response.at > CONFIG.pollTimeoutMs) {
      return { kind, cachedBeforeRevocation: hitsAfter > hitsBefore, refusedMs: null, stale };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 2. The steady read load on B

/** Starts bench/cache-load.mjs against B; resolves with a function that stops it and returns its result. */
async function startLoad(instances, sessions) {
  const child = fork(
    join(here, 'cache-load.mjs'),
    [
      JSON.stringify({
        base: instances.b.base,
        sessions: sessions.map(({ cookie }) => ({ cookie })),
        rate: CONFIG.loadRate,
        connections: sessions.length,
      }),
    ],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const result = new Promise((resolve, reject) => {
    child.on('message', (message) => {
      if (message.type !== 'result') return;
      if (message.error) reject(new Error(`load: ${message.error}`));
      else resolve(message);
    });
    child.on('exit', (code) => reject(new Error(`load exited with ${code} before its result`)));
  });
  await new Promise((resolve) => child.on('message', (m) => m.type === 'started' && resolve()));
  const started = performance.now();
  return async () => {
    child.send({ type: 'stop' });
    const measured = await result;
    return { ...measured, wallSeconds: (performance.now() - started) / 1000 };
  };
}

async function loadAlone(instances, sessions) {
  const stop = await startLoad(instances, sessions);
  await sleep(CONFIG.loadSeconds * 1000);
  return stop();
}

// ---------------------------------------------------------------------------------------------
// 3. Memory

const mib = (bytes) => bytes / (1024 * 1024);

async function memoryPart(instances, url) {
  const a = instances.a.process;
  const total = CONFIG.memorySessions;
  for (let from = 0; from < total; from += 250_000) {
    const count = Math.min(250_000, total - from);
    const ms = await seedSessions(url, { prefix: 'mem-', from, count, userId: 'mem-user' });
    log(`seeded ${count} sessions (mem-) in ${ms} ms`);
  }
  await vacuum(url);
  const statsBefore = await a.stats();
  const baseline = await a.ask({ type: 'gc' });
  log(`memory part: heap ${mib(baseline.memory.heapUsed).toFixed(1)} MiB before (after GC)`);
  const chunks = [];
  const readChunk = async (from, count) => {
    const reply = await a.ask({
      type: 'read-seeded',
      prefix: 'mem-',
      from,
      count,
      concurrency: CONFIG.memoryConcurrency,
    });
    if (reply.error) throw new Error(`read-seeded: ${reply.error}`);
    if (reply.found !== count) throw new Error(`read-seeded found ${reply.found} of ${count}`);
    const chunk = { from, count, ms: reply.ms, cache: reply.cache, memory: reply.memory };
    log(
      `read ${from + count} (${((count / reply.ms) * 1000).toFixed(0)}/s): cache ${reply.cache.size} entries, ` +
        `${mib(reply.cache.weight).toFixed(2)} MiB; heap ${mib(reply.memory.heapUsed).toFixed(1)} MiB`,
    );
    return chunk;
  };
  for (let from = 0; from < total; from += MEMORY_CHUNK) {
    chunks.push(await readChunk(from, Math.min(MEMORY_CHUNK, total - from)));
  }
  const afterRun = chunks.at(-1);
  const afterRunGc = await a.ask({ type: 'gc' });
  const more = await readChunk(0, Math.min(MEMORY_CHUNK, total));
  const afterMoreGc = await a.ask({ type: 'gc' });
  const statsAfter = await a.stats();
  return {
    sessions: total,
    baseline: baseline.memory,
    chunks,
    afterRun: { cache: afterRun.cache, memory: afterRun.memory, gc: afterRunGc.memory },
    afterMore: {
      count: more.count,
      ms: more.ms,
      cache: more.cache,
      memory: more.memory,
      gc: afterMoreGc.memory,
    },
    statementsPerRead:
      (statsAfter.total - statsBefore.total) / (total + Math.min(MEMORY_CHUNK, total)),
  };
}

// ---------------------------------------------------------------------------------------------
// Statistics and report

function revocationRows(runs) {
  const rows = [];
  for (const kind of ['device', 'logout-all', 'all']) {
    const mine = runs.filter((run) => kind === 'all' || run.kind === kind);
    if (!mine.length) continue;
    rows.push({
      kind,
      n: mine.length,
      refused: summary(mine.map((run) => run.refusedMs)),
      pollSent: summary(mine.map((run) => run.refusingPollSentMs ?? null)),
      revocation: summary(mine.map((run) => run.revocationMs ?? null)),
      withStale: mine.filter((run) => run.stale > 0).length,
      stale: mine.reduce((sum, run) => sum + run.stale, 0),
      notCached: mine.filter((run) => !run.cachedBeforeRevocation).length,
      notRefused: mine.filter((run) => run.refusedMs === null).length,
    });
  }
  return rows;
}

const REQUEST = {
  device: 'DELETE /sessions/:handle',
  'logout-all': 'POST /logout-all',
  all: 'both',
};

function markdown(results) {
  const { revocations, load, memory } = results;
  const all = revocations.rows.find((row) => row.kind === 'all');
  const p99Met = all.refused && all.refused.p99 <= 50 && all.notRefused === 0;
  const loadRow = (name, r) =>
    `| ${name} | ${r.requests} | ${fmt(r.requests / r.seconds, 0)} | ${r.latency.p50} | ${r.latency.p90} | ${r.latency.p99} | ${r.latency.max} | ${r.non2xx + r.errors} |`;
  const alone = {
    p50: (load.before.latency.p50 + load.after.latency.p50) / 2,
    p99: (load.before.latency.p99 + load.after.latency.p99) / 2,
  };
  const lines = [
    `Session cache benchmark of ${results.date} on ${process.platform}, Node ${process.version}, ` +
      `${cpus().length} cores (PostgreSQL, both instances, the load generator and this runner on ` +
      `the same machine; load average ${results.loadavg.start.map((v) => v.toFixed(2)).join(', ')} ` +
      `at the start, ${results.loadavg.end.map((v) => v.toFixed(2)).join(', ')} at the end). Two ` +
      'instances A and B of the package with its default options (cache on: 10,000 entries, ' +
      '32 MiB, 5 s) on one database; each measured once its cache was usable.',
    '',
    '#### Revocation on A, refused on B',
    '',
    `${CONFIG.revocations} revocations (after ${CONFIG.warmup} not counted), each of a session B ` +
      'had in its cache (the read before was a cache hit), the two requests in turn; B polled ' +
      'with the revoked cookie, one request after the other. Times in ms: median / p90 / p99 / max.',
    '',
    '| request on A | revocations | A response → B first 401 | A response → sending of the poll that got it | A request → response | revocations B answered 200 after A responded (stale answers) | not cached before / never refused |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...revocations.rows.map(
      (row) =>
        `| ${REQUEST[row.kind]} | ${row.n} | ${cells(row.refused)} | ${cells(row.pollSent)} | ` +
        `${cells(row.revocation)} | ${row.withStale} (${row.stale}) | ${row.notCached} / ${row.notRefused} |`,
    ),
    '',
    `- ${p99Met ? 'MET   ' : 'MISSED'} p99 from A's response to B's first 401: ${fmt(all.refused?.p99)} ms (target <= 50 ms)`,
    '',
    '#### Reads of other sessions on B, with and without the revocations',
    '',
    `autocannon in its own process, GET /read at ${CONFIG.loadRate} requests/s over ` +
      `${CONFIG.loadSessions} connections, each with one other signed-in session (cached); ` +
      `alone for ${CONFIG.loadSeconds} s before and after, and during the revocations above. ` +
      'Latencies in ms (autocannon, corrected for coordinated omission).',
    '',
    '| B serving | requests | req/s | p50 | p90 | p99 | max | non-2xx / errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    loadRow('reads alone, before', load.before),
    loadRow('reads during the revocations', load.during),
    loadRow('reads alone, after', load.after),
    '',
    `During the revocations vs alone (mean of before and after): p50 ${fmt(load.during.latency.p50 / alone.p50, 2)}x, ` +
      `p99 ${fmt(load.during.latency.p99 / alone.p99, 2)}x.`,
    '',
  ];
  if (memory) {
    const bound = (cache) =>
      `${cache.size.toLocaleString('en')} entries (${fmt((cache.size / CACHE_BOUNDS.maxEntries) * 100, 0)}% of ` +
      `maxEntries ${CACHE_BOUNDS.maxEntries.toLocaleString('en')}), ${fmt(mib(cache.weight), 2)} MiB counted ` +
      `(${fmt((cache.weight / CACHE_BOUNDS.maxBytes) * 100, 1)}% of maxBytes 32 MiB)`;
    const heap = (m) =>
      `${fmt(mib(m.heapUsed))} MiB heap used, ${fmt(mib(m.rss))} MiB RSS, ${fmt(mib(m.arrayBuffers))} MiB array buffers`;
    const chunkRate =
      memory.chunks.reduce((s, c) => s + c.count, 0) /
      (memory.chunks.reduce((s, c) => s + c.ms, 0) / 1000);
    lines.push(
      '#### Memory',
      '',
      `${memory.sessions.toLocaleString('en')} distinct sessions seeded by SQL and read once each in A's ` +
        `process through the repository's \`findByHashes\` (the guard's call; not over HTTP), ` +
        `${CONFIG.memoryConcurrency} at a time (${fmt(chunkRate, 0)} reads/s, ${fmt(memory.statementsPerRead, 4)} SQL statements per read: all misses), ` +
        `then ${memory.afterMore.count.toLocaleString('en')} more reads of sessions the cache had let go.`,
      '',
      '| after | cache | memory |',
      '|---|---|---|',
      `| start (forced GC) | | ${heap(memory.baseline)} |`,
      ...memory.chunks.map(
        (chunk) =>
          `| ${(chunk.from + chunk.count).toLocaleString('en')} reads | ${bound(chunk.cache)} | ${heap(chunk.memory)} |`,
      ),
      `| ${memory.sessions.toLocaleString('en')} reads, then a forced GC | ${bound(memory.afterRun.cache)} | ${heap(memory.afterRun.gc)} |`,
      `| ${(memory.sessions + memory.afterMore.count).toLocaleString('en')} reads (the ${memory.afterMore.count.toLocaleString('en')} more) | ${bound(memory.afterMore.cache)} | ${heap(memory.afterMore.memory)} |`,
      `| ${(memory.sessions + memory.afterMore.count).toLocaleString('en')} reads, then a forced GC | ${bound(memory.afterMore.cache)} | ${heap(memory.afterMore.gc)} |`,
      '',
      `Heap after the ${memory.afterMore.count.toLocaleString('en')} more reads vs after the first ` +
        `${memory.sessions.toLocaleString('en')} (both after a forced GC): ` +
        `${fmt(mib(memory.afterMore.gc.heapUsed - memory.afterRun.gc.heapUsed), 2)} MiB; vs the start: ` +
        `${fmt(mib(memory.afterMore.gc.heapUsed - memory.baseline.heapUsed), 1)} MiB ` +
        `(${fmt((memory.afterMore.gc.heapUsed - memory.baseline.heapUsed) / memory.afterMore.cache.size, 0)} bytes per cached entry).`,
      '',
    );
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  log('config', JSON.stringify(CONFIG));
  const results = { date: new Date().toISOString(), config: CONFIG, loadavg: { start: loadavg() } };
  log(`load average at start: ${results.loadavg.start.map((v) => v.toFixed(2)).join(', ')}`);
  const url = await recreateDatabase(DATABASE);
  const instances = {};
  try {
    // A first: its migrations create the tables B finds.
    for (const key of ['a', 'b']) {
      const execArgv = ['--expose-gc'];
      if (CONFIG.cpuProf) {
        execArgv.push(
          '--cpu-prof',
          `--cpu-prof-dir=${join(OUT, 'profiles')}`,
          `--cpu-prof-name=cache-${key}.cpuprofile`,
        );
      }
      const process_ = new ContenderProcess(
        `cache-${key}`,
        'cache-module.js',
        { BENCH_DATABASE_URL: url },
        execArgv,
        log,
      );
      await process_.start();
      instances[key] = { key, base: process_.base, process: process_ };
    }

    // The other sessions B reads all along, each read until it is in B's cache.
    const readers = [];
    for (let i = 0; i < CONFIG.loadSessions; i++) {
      const session = await signIn(instances.b, `reader-${i}`);
      for (let n = 0; n < 3; n++) await read(instances.b, session);
      readers.push(session);
    }

    log(`warm-up: ${CONFIG.warmup} revocations`);
    for (let i = 0; i < CONFIG.warmup; i++) {
      await revokeOnce(instances, i % 2 ? 'logout-all' : 'device');
    }

    log(`reads alone (${CONFIG.loadSeconds} s)`);
    const before = await loadAlone(instances, readers);
    log(`p50 ${before.latency.p50} ms, p99 ${before.latency.p99} ms`);

    log(`${CONFIG.revocations} revocations, reads running`);
    const stopDuring = await startLoad(instances, readers);
    const runs = [];
    const bStatsBefore = await instances.b.process.stats();
    for (let i = 0; i < CONFIG.revocations; i++) {
      runs.push(await revokeOnce(instances, i % 2 ? 'logout-all' : 'device'));
      if ((i + 1) % 100 === 0) {
        const refused = summary(runs.map((run) => run.refusedMs));
        log(`${i + 1} revocations: median ${fmt(refused.median)} ms, p99 ${fmt(refused.p99)} ms`);
      }
    }
    const during = await stopDuring();
    const bStatsAfter = await instances.b.process.stats();
    log(`p50 ${during.latency.p50} ms, p99 ${during.latency.p99} ms`);

    log(`reads alone (${CONFIG.loadSeconds} s)`);
    const after = await loadAlone(instances, readers);
    log(`p50 ${after.latency.p50} ms, p99 ${after.latency.p99} ms`);

    results.revocations = {
      runs,
      rows: revocationRows(runs),
      cacheB: (await instances.b.process.ask({ type: 'cache' })).cache,
      statementsB: {
        total: bStatsAfter.total - bStatsBefore.total,
        requests: bStatsAfter.requests - bStatsBefore.requests,
      },
    };
    results.load = { before, during, after };

    await instances.b.process.stop();
    if (CONFIG.memorySessions > 0) results.memory = await memoryPart(instances, url);
  } finally {
    await Promise.all(Object.values(instances).map((instance) => instance.process.stop()));
    closeHttp();
  }
  results.loadavg.end = loadavg();

  const report = markdown(results);
  console.log(`\n${report}`);
  const file = saveResults('cache', started, { ...results, markdown: report });
  writeFileSync(join(RESULTS, 'cache-latest.md'), report + '\n');
  await dropDatabasesUnlessKept(DATABASE);
  log(
    `done in ${((Date.now() - started) / 1000).toFixed(0)} s; results in ${file} and cache-latest.md`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
