/**
 * nestjs-session 3 + express-session 1.19 + connect-pg-simple 10 (settings in
 * express-session-app.ts): a pg pool of 10 connections, the store's default table `session`
 * (created from connect-pg-simple's table.sql by the runner) and default pruning.
 */
import connectPgSimple from 'connect-pg-simple';
import session from 'express-session';
import { Pool } from 'pg';
import { serveExpressSession } from './express-session-app';
import { countStatements, databaseUrl } from './harness';

const PgStore = connectPgSimple(session);

async function main() {
  countStatements();
  const pool = new Pool({ connectionString: databaseUrl(), max: 10 });
  await serveExpressSession(new PgStore({ pool }));
}

void main();
