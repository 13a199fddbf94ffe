/** Stops the embedded PostgreSQL when the global setup started one (nothing to do on a server). */
const { EMBEDDED_CONTROL, EMBEDDED_URL } = require('./support/database-url');

const EMBEDDED = Symbol.for('nest-session-security.test.embedded-postgres');

module.exports = async function globalTeardown() {
  const embedded = globalThis[EMBEDDED];
  if (!embedded) return;
  delete globalThis[EMBEDDED];
  delete process.env[EMBEDDED_CONTROL];
  delete process.env[EMBEDDED_URL];
  await embedded.stop();
};
