/**
 * Names the run's databases (see support/database-url.js: `<TEST_DATABASE or
 * nest_session_security_test>_<run id>`), chooses the PostgreSQL the tests run on and creates the
 * package suites' database on it, empty, so every run starts from the shipped migration:
 * - DATABASE_URL set: that server, which must answer (an error says so otherwise);
 * - DATABASE_URL unset: the local server at the default URL when it answers within 1.5 s, else
 *   an embedded PostgreSQL (PGlite), announced in one line. With CI set (as .ci/run does) there
 *   is no fallback: CI runs on the real server or fails.
 * TEST_EMBEDDED_POSTGRES=1 runs on the embedded one whatever answers; =0 never falls back.
 * The global teardown drops the run's databases, or stops the embedded server.
 */
const { Client } = require('pg');
const {
  EMBEDDED_CONTROL,
  EMBEDDED_URL,
  RUN_DATABASE,
  createTestDatabase,
  newRunDatabaseName,
  serverUrl,
  shownUrl,
} = require('./support/database-url');

const PROBE_TIMEOUT_MS = 1500;
const EMBEDDED = Symbol.for('nest-session-security.test.embedded-postgres');

/**
 * Resolves when PostgreSQL answers at `url`, to the reason when nothing does (refused, timed out,
 * unknown host, not PostgreSQL). An error from PostgreSQL itself (authentication, missing
 * database) is thrown: a server is there but the tests cannot use it.
 */
async function probe(url) {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.end();
    return null;
  } catch (error) {
    await client.end().catch(() => undefined);
    if (error.severity) {
      throw new Error(
        `PostgreSQL at ${shownUrl(url)} refused the tests' connection: ${error.message}`,
        { cause: error },
      );
    }
    return error.code || error.message;
  }
}

/** Why the tests run on the embedded PostgreSQL, or `null` to run on the server. */
async function reasonForEmbedded() {
  const choice = process.env.TEST_EMBEDDED_POSTGRES;
  if (choice === '1') return 'TEST_EMBEDDED_POSTGRES=1';
  const explicit = Boolean(process.env.DATABASE_URL);
  const url = serverUrl();
  const unanswered = await probe(url);
  if (unanswered === null) return null;
  const why = `No PostgreSQL answered at ${shownUrl(url)} (${unanswered})`;
  if (explicit) {
    throw new Error(
      `${why}, which DATABASE_URL names: start that server, or unset DATABASE_URL to run the tests on an embedded PostgreSQL (PGlite).`,
    );
  }
  const ci = Boolean(process.env.CI) && !/^(0|false)$/i.test(process.env.CI);
  if (choice === '0' || ci) {
    const setting = choice === '0' ? 'TEST_EMBEDDED_POSTGRES=0' : 'CI';
    throw new Error(
      `${why}, and ${setting} is set, so the tests do not fall back to an embedded PostgreSQL: start PostgreSQL there or set DATABASE_URL.`,
    );
  }
  return why;
}

module.exports = async function globalSetup() {
  delete process.env[EMBEDDED_CONTROL];
  delete process.env[EMBEDDED_URL];
  const name = newRunDatabaseName();
  const reason = await reasonForEmbedded();
  process.env[RUN_DATABASE] = name;
  if (reason === null) {
    await createTestDatabase(name);
    return;
  }
  process.stderr.write(`${reason}; running the tests on an embedded PostgreSQL (PGlite).\n`);
  // Required here only: a run on a server never loads PGlite.
  const { EmbeddedPostgres } = require('./support/embedded-postgres');
  const embedded = new EmbeddedPostgres();
  try {
    process.env[EMBEDDED_CONTROL] = await embedded.start();
    process.env[EMBEDDED_URL] = await embedded.create(name);
  } catch (error) {
    await embedded.stop().catch(() => undefined);
    throw error;
  }
  globalThis[EMBEDDED] = embedded;
};
