/**
 * Creates a fresh database for the end-to-end suites on the PostgreSQL server at DATABASE_URL
 * (default: the local server) so every run starts from the shipped migration.
 */
const { Client } = require('pg');
const { testDatabaseUrl, serverUrl } = require('./support/database-url');

module.exports = async function globalSetup() {
  const target = new URL(testDatabaseUrl());
  const name = target.pathname.slice(1);
  const admin = new Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
};
