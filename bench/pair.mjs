/**
 * `npm run bench:pair`: the package's CPU per request as a ratio to its bound's, both served at
 * the same moment. The package (its contender of `npm run bench`) and the bound (the write floor
 * for writes, the no-session ceiling for reads) each get the same fixed rate from their own
 * autocannon, in rounds that run side by side: whatever the machine does during a round (its
 * speed moved 1.65-1.9x within full runs of `npm run bench`) it does to both, and the ratio of
 * each round keeps little of it. A fixed rate below what either can serve keeps both unsaturated,
 * so neither one's CPU is held back by the other's. For judging a change to the package's own
 * cost; the throughput targets stay with `npm run bench`.
 *
 * Settings (environment): BENCH_PAIR_KIND (`write`, or `read`), BENCH_PAIR_RATE (requests per
 * second to each, 700), BENCH_PAIR_ROUNDS (7), BENCH_PAIR_DURATION (seconds per round, 6),
 * BENCH_PAIR_WARMUP (seconds, 3), BENCH_MODULE_OPTIONS (JSON given to the package's
 * `SessionModule.forRoot`, for measuring what an option costs, for example
 * `{"csrf":{"enabled":false}}`), BENCH_KEEP=1 (keep the database).
 */
import autocannon from 'autocannon';
import process from 'node:process';
import { browserHeaders, login } from './browser.mjs';
import { ContenderProcess } from './contender-process.mjs';
import { createWriteFloorTable, dropDatabasesUnlessKept, recreateDatabase } from './database.mjs';
import { saveResults, summary } from './report.mjs';

const number = (name, fallback) => Number(process.env[name] ?? fallback);
const CONFIG = {
  kind: process.env.BENCH_PAIR_KIND ?? 'write',
  rate: number('BENCH_PAIR_RATE', 700),
  rounds: number('BENCH_PAIR_ROUNDS', 7),
  duration: number('BENCH_PAIR_DURATION', 6),
  warmup: number('BENCH_PAIR_WARMUP', 3),
  moduleOptions: process.env.BENCH_MODULE_OPTIONS ?? null,
  connections: 10,
};
const DATABASE = 'nss_bench_pair';
const log = (...args) =>
  console.error(`[bench:pair ${new Date().toISOString().slice(11, 19)}]`, ...args);

/** What each kind measures: the request, and the bound it is compared with. */
const KINDS = {
  write: { method: 'POST', path: '/write', bound: 'write-floor.js', label: 'the write floor' },
  read: { method: 'GET', path: '/read', bound: 'ceiling.js', label: 'the no-session ceiling' },
};

/**
 * `seconds` of requests at the fixed rate, each connection with one reader's session and a
 * browser's headers (as `npm run bench` sends them).
 */
function atFixedRate(base, sessions, seconds) {
  const { method, path } = KINDS[CONFIG.kind];
  const browser = browserHeaders(method, base);
  let next = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: base,
        connections: CONFIG.connections,
        duration: seconds,
        overallRate: CONFIG.rate,
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
  log('config', JSON.stringify(CONFIG));
  const url = await recreateDatabase(DATABASE);
  const secret = { BENCH_SESSION_SECRET: 'bench-secret' };
  const module = new ContenderProcess('pair-module', 'session-module.js', {
    ...secret,
    BENCH_DATABASE_URL: url,
    ...(CONFIG.moduleOptions ? { BENCH_MODULE_OPTIONS: CONFIG.moduleOptions } : {}),
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
    log(`warm-up (${CONFIG.warmup} s)`);
    await Promise.all([module, bound].map((c) => atFixedRate(c.base, sessions, CONFIG.warmup)));
    for (let round = 1; round <= CONFIG.rounds; round++) {
      const before = await Promise.all([module.stats(), bound.stats()]);
      const results = await Promise.all(
        [module, bound].map((c) => atFixedRate(c.base, sessions, CONFIG.duration)),
      );
      const after = await Promise.all([module.stats(), bound.stats()]);
      const failed = results.reduce((sum, r) => sum + r.non2xx + r.errors, 0);
      if (failed) throw new Error(`round ${round}: ${failed} requests failed`);
      const moduleCpu = perRequest(before[0], after[0]);
      const boundCpu = perRequest(before[1], after[1]);
      rounds.push({ moduleCpu, boundCpu, ratio: moduleCpu / boundCpu });
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
      `: median ${ratio.median.toFixed(3)} (${ratio.min.toFixed(3)}-${ratio.max.toFixed(3)})`,
  );
  log(`results in ${file}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
