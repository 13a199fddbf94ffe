/**
 * `npm run bench:pair`: the package's CPU per request as a ratio to its bound's, both served at
 * the same moment. The package (its contender of `npm run bench`) and the bound (the write floor
 * for writes, the no-session ceiling for reads) each get the same fixed rate from their own
 * autocannon, in rounds that run side by side: whatever the machine does during a round (its
 * speed drifts within a run of `npm run bench`) it does to both, and the ratio of each round
 * keeps little of it. A fixed rate below what either can serve keeps both unsaturated, so
 * neither one's CPU is held back by the other's; a round that falls short of it is reported.
 * For judging a change to the package's own cost; the throughput targets stay with `npm run
 * bench`.
 *
 * Settings (environment): BENCH_PAIR_KIND (`write`, or `read`), BENCH_PAIR_RATE (requests per
 * second to each, 700), BENCH_PAIR_ROUNDS (7), BENCH_PAIR_DURATION (seconds per round, 6),
 * BENCH_PAIR_WARMUP (seconds, 3), BENCH_PAIR_READS_FIRST (seconds of reads at full speed sent to
 * the package before the warm-up, to see whether serving reads first changes what a write
 * costs; 0), BENCH_MODULE_OPTIONS (JSON given to the package's `SessionModule.forRoot`, for
 * measuring what an option costs, for example `{"csrf":{"enabled":false}}`), BENCH_KEEP=1 (keep
 * the database).
 */
import autocannon from 'autocannon';
import process from 'node:process';
import { browserHeaders, login } from './browser.mjs';
import { ContenderProcess } from './contender-process.mjs';
import { createWriteFloorTable, dropDatabasesUnlessKept, recreateDatabase } from './database.mjs';
import { logger, number, saveResults, summary } from './report.mjs';

const CONFIG = {
  kind: process.env.BENCH_PAIR_KIND ?? 'write',
  rate: number('BENCH_PAIR_RATE', 700),
  rounds: number('BENCH_PAIR_ROUNDS', 7),
  duration: number('BENCH_PAIR_DURATION', 6),
  warmup: number('BENCH_PAIR_WARMUP', 3),
  readsFirst: number('BENCH_PAIR_READS_FIRST', 0),
  moduleOptions: process.env.BENCH_MODULE_OPTIONS || null,
  connections: 10,
};
/** A round that served less than this share of the fixed rate had a saturated contender. */
const RATE_KEPT = 0.95;
const DATABASE = 'nss_bench_pair';
const log = logger('bench:pair');

/** What each kind measures: the request, and the bound it is compared with. */
const KINDS = {
  write: { method: 'POST', path: '/write', bound: 'write-floor.js', label: 'the write floor' },
  read: { method: 'GET', path: '/read', bound: 'ceiling.js', label: 'the no-session ceiling' },
};

/**
 * `seconds` of `request`s to `base`, at `rate` per second (at full speed without one), each
 * connection with one reader's session and a browser's headers (as `npm run bench` sends them).
 */
function load(base, sessions, seconds, { method, path }, rate) {
  const browser = browserHeaders(method, base);
  let next = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: base,
        connections: CONFIG.connections,
        duration: seconds,
        ...(rate ? { overallRate: rate } : {}),
        requests: [{ method, path }],
        setupClient: (client) =>
          client.setHeaders({ ...sessions[next++ % sessions.length], ...browser }),
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    instance.on('error', reject);
  });
}

/** CPU microseconds per request each contender served between two of its stats. */
const perRequest = (before, after) => (after.cpu - before.cpu) / (after.requests - before.requests);

async function main() {
  const started = Date.now();
  const kind = KINDS[CONFIG.kind];
  if (!kind) throw new Error(`BENCH_PAIR_KIND must be one of ${Object.keys(KINDS).join(', ')}`);
  for (const [name, value] of Object.entries({
    BENCH_PAIR_RATE: CONFIG.rate,
    BENCH_PAIR_ROUNDS: CONFIG.rounds,
    BENCH_PAIR_DURATION: CONFIG.duration,
  })) {
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`${name} must be a whole number >= 1`);
  }
  for (const [name, value] of Object.entries({
    BENCH_PAIR_WARMUP: CONFIG.warmup,
    BENCH_PAIR_READS_FIRST: CONFIG.readsFirst,
  })) {
    if (!Number.isInteger(value) || value < 0)
      throw new Error(`${name} must be a whole number >= 0`);
  }
  // Checked here: a child that cannot parse it would only say that it exited before listening.
  if (CONFIG.moduleOptions) {
    try {
      JSON.parse(CONFIG.moduleOptions);
    } catch (error) {
      throw new Error(`BENCH_MODULE_OPTIONS is not JSON: ${error.message}`, { cause: error });
    }
  }
  log('config', JSON.stringify(CONFIG));
  const url = await recreateDatabase(DATABASE);
  const secret = { BENCH_SESSION_SECRET: 'bench-secret' };
  // BENCH_CACHE set here, so that one inherited from the shell cannot change the package's options.
  const module = new ContenderProcess('pair-module', 'session-module.js', {
    ...secret,
    BENCH_DATABASE_URL: url,
    BENCH_CACHE: '',
    BENCH_MODULE_OPTIONS: CONFIG.moduleOptions ?? '',
  });
  const bound = new ContenderProcess('pair-bound', kind.bound, {
    ...secret,
    BENCH_DATABASE_URL: CONFIG.kind === 'write' ? url : '',
  });
  const rounds = [];
  try {
    await module.start();
    const sessions = [];
    for (let i = 0; i < CONFIG.connections; i++) {
      sessions.push(await login(module.base, `reader-${i}`, '__Host-sid', true));
    }
    if (CONFIG.kind === 'write') await createWriteFloorTable(url, sessions);
    await bound.start();
    const atFixedRate = (contender, seconds) =>
      load(contender.base, sessions, seconds, kind, CONFIG.rate);
    if (CONFIG.readsFirst > 0) {
      log(`reads first (${CONFIG.readsFirst} s at full speed)`);
      await load(module.base, sessions, CONFIG.readsFirst, KINDS.read);
    }
    log(`warm-up (${CONFIG.warmup} s)`);
    await Promise.all([module, bound].map((c) => atFixedRate(c, CONFIG.warmup)));
    for (let round = 1; round <= CONFIG.rounds; round++) {
      const before = await Promise.all([module.stats(), bound.stats()]);
      const results = await Promise.all(
        [module, bound].map((c) => atFixedRate(c, CONFIG.duration)),
      );
      const after = await Promise.all([module.stats(), bound.stats()]);
      const failed = results.reduce((sum, r) => sum + r.non2xx + r.errors, 0);
      if (failed) throw new Error(`round ${round}: ${failed} requests failed`);
      const served = results.map((r) => r.requests.total / CONFIG.duration);
      if (served.some((rate) => rate < CONFIG.rate * RATE_KEPT)) {
        log(
          `WARNING round ${round}: served ${served.map((rate) => rate.toFixed(0)).join(' and ')} ` +
            `req/s of ${CONFIG.rate}: a contender was saturated; lower BENCH_PAIR_RATE`,
        );
      }
      const moduleCpu = perRequest(before[0], after[0]);
      const boundCpu = perRequest(before[1], after[1]);
      rounds.push({ moduleCpu, boundCpu, ratio: moduleCpu / boundCpu, served });
      log(
        `round ${round}/${CONFIG.rounds}: package ${moduleCpu.toFixed(0)} µs, bound ` +
          `${boundCpu.toFixed(0)} µs per request, ratio ${(moduleCpu / boundCpu).toFixed(3)}`,
      );
    }
  } finally {
    await Promise.all([module.stop(), bound.stop()]);
    await dropDatabasesUnlessKept(DATABASE);
  }
  const ratio = summary(rounds.map((round) => round.ratio));
  const file = saveResults('pair', started, { config: CONFIG, rounds, ratio });
  console.log(
    `CPU per ${CONFIG.kind} of nest-session-security as a ratio to ${kind.label}'s, ` +
      `${CONFIG.rounds} rounds of ${CONFIG.duration} s at ${CONFIG.rate} req/s each` +
      (CONFIG.moduleOptions ? `, options ${CONFIG.moduleOptions}` : '') +
      (CONFIG.readsFirst ? `, after ${CONFIG.readsFirst} s of reads` : '') +
      `: median ${ratio.median.toFixed(3)} (${ratio.min.toFixed(3)}-${ratio.max.toFixed(3)})`,
  );
  log(`results in ${file}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
