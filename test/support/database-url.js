/** Where the tests find PostgreSQL: DATABASE_URL, else the local server with trust auth. */
const DEFAULT_SERVER = 'postgres://postgres@127.0.0.1:5432/postgres';
const TEST_DATABASE = 'nest_session_security_test';

function serverUrl() {
  return process.env.DATABASE_URL || DEFAULT_SERVER;
}

function testDatabaseUrl() {
  const url = new URL(serverUrl());
  url.pathname = `/${process.env.TEST_DATABASE || TEST_DATABASE}`;
  return url.toString();
}

module.exports = { serverUrl, testDatabaseUrl };
