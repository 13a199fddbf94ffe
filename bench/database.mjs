/**
 * What the benchmark scripts share about their PostgreSQL: where the server is (as the tests
 * find it), a client per task, fresh databases, and the canonical tokens they seed by the
 * storage contract.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
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

/** A canonical 43-character token, the same in SQL and here: base64url(SHA-256(prefix || i)). */
export const tokenOf = (prefix, i) =>
  createHash('sha256').update(`${prefix}${i}`).digest('base64url');
export const SQL_TOKEN = (prefix) =>
  `translate(rtrim(encode(sha256(convert_to('${prefix}' || i, 'UTF8')), 'base64'), '='), '+/', '-_')`;
