/**
 * Where the tests find PostgreSQL, and the databases a test run owns on it.
 *
 * The server: DATABASE_URL, else the local server with trust auth, else (when nothing answers
 * there and DATABASE_URL is unset) the embedded PostgreSQL (PGlite) that the global setup
 * started. The suites ask these functions and need not know which.
 *
 * The databases: every run names its own, `<prefix>_<run id>` for the package's suites and
 * `<prefix>_<run id>_<purpose>` for any other (the sample suites'), where the prefix is
 * TEST_DATABASE or `nest_session_security_test` and the run id is random. A run creates them
 * (never taking over one that exists), drops them when done, and refuses to create or drop a
 * database outside its own names: runs sharing a server, or a TEST_DATABASE, never meet.
 */
const { randomBytes } = require('node:crypto');
const { request } = require('node:http');
const { Client } = require('pg');

const DEFAULT_SERVER = 'postgres://postgres@127.0.0.1:5432/postgres';
const DEFAULT_PREFIX = 'nest_session_security_test';
/** Room for `_<run id>` (9) and a purpose such as `_sample_security` (20) in PostgreSQL's 63. */
const MAX_PREFIX_LENGTH = 34;

/**
 * Set by the global setup for the whole run (Jest's workers inherit it): the name of the run's
 * main database; with the embedded PostgreSQL, also the URL of its control endpoint and of the
 * main database.
 */
const RUN_DATABASE = 'TEST_RUN_DATABASE';
const EMBEDDED_CONTROL = 'TEST_EMBEDDED_POSTGRES_CONTROL';
const EMBEDDED_URL = 'TEST_EMBEDDED_POSTGRES_URL';

/** PostgreSQL's SQLSTATE for CREATE DATABASE of a name that exists. */
const DUPLICATE_DATABASE = '42P04';

/** The configured server (whether or not it answers). */
function serverUrl() {
  return process.env.DATABASE_URL || DEFAULT_SERVER;
}

/** A new name for a run's main database, from TEST_DATABASE (for the global setup). */
function newRunDatabaseName() {
  const prefix = process.env.TEST_DATABASE || DEFAULT_PREFIX;
  if (!/^[a-z0-9_]+$/.test(prefix) || prefix.length > MAX_PREFIX_LENGTH) {
    throw new Error(
      `TEST_DATABASE='${prefix}' cannot prefix the run's database names: use [a-z0-9_], at most ${MAX_PREFIX_LENGTH} characters (the run adds _<run id> and a purpose such as _sample_security).`,
    );
  }
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/** The name of the run's main database, shared by the package's suites. */
function testDatabaseName() {
  const name = process.env[RUN_DATABASE];
  if (!name) {
    throw new Error(
      `${RUN_DATABASE} is not set: run the tests through Jest (npx jest), whose global setup creates the run's database.`,
    );
  }
  return name;
}

/** The name of another database of this run, for one `purpose` (`[a-z0-9_]`). */
function runDatabaseName(purpose) {
  return `${testDatabaseName()}_${purpose}`;
}

/** True when `name` is one of this run's databases. */
function ownedByThisRun(name) {
  const run = testDatabaseName();
  return name === run || name.startsWith(`${run}_`);
}

/** True when this run uses the embedded PostgreSQL rather than a server. */
function usesEmbeddedPostgres() {
  return Boolean(process.env[EMBEDDED_CONTROL]);
}

/** The URL of the package suites' database, which the global setup created empty. */
function testDatabaseUrl() {
  if (usesEmbeddedPostgres()) return process.env[EMBEDDED_URL];
  return databaseUrlOnServer(testDatabaseName());
}

function databaseUrlOnServer(name) {
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

/** The URL without its password, for messages. */
function shownUrl(url) {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/** Throws unless `name` is a valid database name of this run. */
function checkOwnName(name) {
  if (!/^[a-z0-9_]{1,63}$/.test(name)) {
    throw new Error(`Bad test database name '${name}': use [a-z0-9_], at most 63`);
  }
  if (!ownedByThisRun(name)) {
    throw new Error(
      `'${name}' is not a database of this test run (its names start with ${testDatabaseName()}): the tests create and drop only their own.`,
    );
  }
}

/**
 * Creates this run's database `name`, empty; resolves to its URL. A database of that name that
 * exists already is someone else's: it is left alone and the run fails.
 */
async function createTestDatabase(name) {
  checkOwnName(name);
  if (usesEmbeddedPostgres()) return (await embedded('POST', name)).url;
  await onServer(async (admin) => {
    try {
      await admin.query(`CREATE DATABASE "${name}"`);
    } catch (error) {
      if (error.code !== DUPLICATE_DATABASE) throw error;
      throw new Error(
        `PostgreSQL at ${shownUrl(serverUrl())} already has a database '${name}', which this test run did not create: it is left alone. Run again (the run id is random) or set another TEST_DATABASE.`,
        { cause: error },
      );
    }
  });
  return databaseUrlOnServer(name);
}

/** Drops this run's database `name` if it exists (closing the run's own connections to it). */
async function dropTestDatabase(name) {
  checkOwnName(name);
  if (usesEmbeddedPostgres()) {
    await embedded('DELETE', name);
    return;
  }
  await onServer((admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

/**
 * Drops every database of this run left on the server: the main one and any a suite did not
 * drop itself (it failed, or its worker died). Resolves to their names.
 */
async function dropRunDatabases() {
  const run = testDatabaseName();
  let names = [];
  await onServer(async (admin) => {
    // A prefix test without LIKE, where `_` would match any character.
    const rows = await admin.query(
      `SELECT datname FROM pg_database WHERE datname = $1 OR left(datname, length($1) + 1) = $1 || '_'`,
      [run],
    );
    names = rows.rows.map((row) => row.datname);
  });
  for (const name of names) await dropTestDatabase(name);
  return names;
}

async function onServer(work) {
  const admin = new Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    await work(admin);
  } finally {
    await admin.end();
  }
}

/** A request to the embedded PostgreSQL's control endpoint (see embedded-postgres.js). */
function embedded(method, name) {
  const url = `${process.env[EMBEDDED_CONTROL]}/databases/${name}`;
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => {
        const body = JSON.parse(text || '{}');
        if (res.statusCode === 200) resolve(body);
        else reject(new Error(`embedded PostgreSQL: ${method} ${name}: ${body.error}`));
      });
      res.on('error', reject);
    });
    req.setTimeout(60_000, () =>
      req.destroy(new Error(`embedded PostgreSQL: ${method} ${name}: timeout`)),
    );
    req.on('error', reject);
    req.end();
  });
}

module.exports = {
  DEFAULT_SERVER,
  EMBEDDED_CONTROL,
  EMBEDDED_URL,
  RUN_DATABASE,
  serverUrl,
  shownUrl,
  newRunDatabaseName,
  testDatabaseName,
  runDatabaseName,
  testDatabaseUrl,
  usesEmbeddedPostgres,
  createTestDatabase,
  dropTestDatabase,
  dropRunDatabases,
};
