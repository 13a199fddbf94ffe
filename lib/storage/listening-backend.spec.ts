import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DEAD_CLIENT_TIMEOUT_SETTING, IDENTIFY_LISTENING_BACKEND } from './listening-backend';

/*
 * PGlite (the sample's and the tests' embedded database) runs one server process for every
 * connection: a timeout set there would end the whole database, which then hangs every client.
 * The settings are for a process of the listening connection's own only (the e2e suites check
 * them on a PostgreSQL server: listener-idle-backends).
 */

/** Runs in a Node process of its own: PGlite loads its WebAssembly by a dynamic import. */
const ON_PGLITE = `
const { PGlite } = require('@electric-sql/pglite');
(async () => {
  const db = await PGlite.create();
  const show = async (name) => (await db.query('SHOW ' + name)).rows[0][name];
  const before = await show('idle_session_timeout');
  const { rows } = await db.query(process.env.STATEMENT, [process.env.SETTING]);
  const after = { idle: await show('idle_session_timeout'), tcp: await show('tcp_user_timeout') };
  console.log(JSON.stringify({ rows, before, after }));
  await db.close();
})();`;

describe('IDENTIFY_LISTENING_BACKEND on PGlite', () => {
  it('answers the process id and sets no timeout on the one shared process', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', ON_PGLITE], {
      env: {
        ...process.env,
        STATEMENT: IDENTIFY_LISTENING_BACKEND,
        SETTING: DEAD_CLIENT_TIMEOUT_SETTING,
      },
    });
    const { rows, before, after } = JSON.parse(stdout) as {
      rows: unknown[];
      before: string;
      after: { idle: string; tcp: string };
    };
    expect(rows).toEqual([{ pid: expect.any(Number), settings: 0 }]);
    expect(after).toEqual({ idle: before, tcp: '0' });
  }, 30_000);
});
