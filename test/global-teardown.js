/**
 * Drops the databases this run created on the server (see support/database-url.js), or stops
 * the embedded PostgreSQL, whose databases live in memory only.
 */
const {
  EMBEDDED_CONTROL,
  EMBEDDED_URL,
  RUN_DATABASE,
  dropRunDatabases,
} = require('./support/database-url');

const EMBEDDED = Symbol.for('nest-session-security.test.embedded-postgres');

module.exports = async function globalTeardown() {
  const embedded = globalThis[EMBEDDED];
  try {
    if (embedded) {
      delete globalThis[EMBEDDED];
      await embedded.stop();
    } else if (process.env[RUN_DATABASE]) {
      await dropRunDatabases();
    }
  } finally {
    delete process.env[EMBEDDED_CONTROL];
    delete process.env[EMBEDDED_URL];
    delete process.env[RUN_DATABASE];
  }
};
