/**
 * What the benchmark scripts share about their PostgreSQL: where the server is (as the tests
 * find it), a client per task, fresh databases, and the canonical tokens they seed by the
 * storage contract.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import process from 'node:process';
import pg from 'pg';

const require = createRequire(import.meta.url);
export const { serverUrl } = require('../test/support/database-url.js');

export function databaseUrl(name) {
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

export async function withClient(url, task) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await task(client);
  } finally {
    await client.end();
  }
}

export async function recreateDatabase(name) {
  await withClient(serverUrl(), async (client) => {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${name}"`);
  });
  return databaseUrl(name);
}

/** Drops the benchmark's databases once it is done, unless BENCH_KEEP=1 keeps them to look at. */
export async function dropDatabasesUnlessKept(...names) {
  if (process.env.BENCH_KEEP === '1') return;
  await withClient(serverUrl(), async (client) => {
    for (const name of names) await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
}

/** A canonical 43-character token, the same in SQL and here: base64url(SHA-256(prefix || i)). */
export const tokenOf = (prefix, i) =>
  createHash('sha256').update(`${prefix}${i}`).digest('base64url');
export const SQL_TOKEN = (prefix) =>
  `translate(rtrim(encode(sha256(convert_to('${prefix}' || i, 'UTF8')), 'base64'), '='), '+/', '-_')`;

/**
 * Seeds sessions of this package by the storage contract: id_hash = SHA-256(token), tokens
 * `tokenOf(prefix, i)` for i in [from, from + count). `userId` null seeds anonymous (pre-login)
 * sessions with a small cart, else authenticated ones; all presented, live for 30 minutes.
 * Returns the milliseconds it took.
 */
export async function seedSessions(url, { prefix, from, count, userId }) {
  const started = Date.now();
  await withClient(url, (client) =>
    client.query(
      `INSERT INTO "session" (id_hash, handle, user_id, data, created_at, authenticated_at,
         last_seen_at, rotated_at, expires_at, ip, user_agent, csrf_secret, presented_at)
       SELECT sha256(convert_to(t.token, 'UTF8')), md5(t.token), $3::text,
         '{"cart":[{"sku":"a-1","qty":1}]}'::jsonb, now(), CASE WHEN $3::text IS NULL THEN NULL ELSE now() END,
         now(), now(), now() + interval '30 minutes', '127.0.0.1', 'autocannon',
         sha256(convert_to('csrf-' || t.token, 'UTF8')), now()
       FROM generate_series($1::int, $2::int) AS i,
         LATERAL (SELECT ${SQL_TOKEN(prefix)} AS token) AS t`,
      [from, from + count - 1, userId],
    ),
  );
  return Date.now() - started;
}

/** Fresh statistics and a checkpoint after seeding, so that measurements start alike. */
export async function vacuum(url) {
  await withClient(url, async (client) => {
    await client.query('VACUUM (ANALYZE) "session"');
    await client.query('CHECKPOINT');
  });
}

/**
 * The write floor's table: one small row per signed-in reader, keyed as the session table is
 * (SHA-256 of the cookie's token), so that the floor's UPDATE finds its row as a session write
 * would.
 */
export async function createWriteFloorTable(url, sessions) {
  await withClient(url, async (client) => {
    await client.query(
      'CREATE TABLE write_floor (id_hash bytea PRIMARY KEY, user_id text NOT NULL, data jsonb NOT NULL)',
    );
    for (const [i, session] of sessions.entries()) {
      const token = session.cookie.slice(session.cookie.indexOf('=') + 1);
      await client.query(
        `INSERT INTO write_floor (id_hash, user_id, data) VALUES ($1, $2, '{"n":0}')`,
        [createHash('sha256').update(token, 'ascii').digest(), `reader-${i}`],
      );
    }
  });
}
