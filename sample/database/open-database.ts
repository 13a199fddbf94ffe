import { resolve } from 'node:path';
import { DatabaseConnection, externalDatabase } from './database-connection';
import { startEmbeddedPostgres } from './embedded-postgres';

/**
 * Where the embedded database keeps its files (git-ignored): relative to the working directory,
 * which npm scripts set to the repository root.
 */
export const EMBEDDED_DATA_DIR = '.sample-data';

/** The server at `databaseUrl`, or the embedded one when no URL is given. */
export async function openDatabase(databaseUrl: string | undefined): Promise<DatabaseConnection> {
  if (databaseUrl) return externalDatabase(databaseUrl);
  return startEmbeddedPostgres(resolve(EMBEDDED_DATA_DIR));
}
