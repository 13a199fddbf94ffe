/**
 * Where the tests find PostgreSQL: the server at DATABASE_URL, else the local server with trust
 * auth, else (when nothing answers there and DATABASE_URL is unset) the embedded PostgreSQL
 * (PGlite) that the global setup started. The suites ask these functions and need not know which.
 */
const { request } = require('node:http');
const { Client } = require('pg');

const DEFAULT_SERVER = 'postgres://postgres@127.0.0.1:5432/postgres';
const TEST_DATABASE = 'nest_session_security_test';

/**
 * Set by the global setup when the tests run on the embedded PostgreSQL: the URL of its control
 * endpoint, and the URL of the main test database.
 */
const EMBEDDED_CONTROL = 'TEST_EMBEDDED_POSTGRES_CONTROL';
const EMBEDDED_URL = 'TEST_EMBEDDED_POSTGRES_URL';

/** The configured server (whether or not it answers). */
function serverUrl() {
  return process.env.DATABASE_URL || DEFAULT_SERVER;
}

/** The name of the database the package's suites share (TEST_DATABASE, by default its own). */
function testDatabaseName() {
  return process.env.TEST_DATABASE || TEST_DATABASE;
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

function checkName(name) {
  if (!/^[a-z0-9_]{1,63}$/.test(name)) {
    throw new Error(`Bad test database name '${name}': use [a-z0-9_], at most 63`);
  }
}

/** Creates the database `name` empty (dropping any older one); resolves to its URL. */
async function createTestDatabase(name) {
  checkName(name);
  if (usesEmbeddedPostgres()) return (await embedded('POST', name)).url;
  await onServer(async (admin) => {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
  });
  return databaseUrlOnServer(name);
}

/** Drops the database `name` if it exists. */
async function dropTestDatabase(name) {
  checkName(name);
  if (usesEmbeddedPostgres()) {
    await embedded('DELETE', name);
    return;
  }
  await onServer((admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
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
  serverUrl,
  testDatabaseName,
  testDatabaseUrl,
  usesEmbeddedPostgres,
  createTestDatabase,
  dropTestDatabase,
};
