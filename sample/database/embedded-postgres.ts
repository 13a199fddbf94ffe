import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { lockDataDir } from './data-dir.lock';
import { DatabaseConnection } from './database-connection';

/**
 * The socket server accepts one client by default, which a connection pool (TypeORM keeps up
 * to 10) cannot live with. PGlite still runs one statement at a time; the server queues them
 * and keeps a transaction's statements together.
 */
const MAX_CONNECTIONS = 32;

/**
 * Starts PostgreSQL in WebAssembly (PGlite) on `dataDir` and serves it on a free loopback port,
 * so the ordinary `pg` driver, and so TypeORM and the package, use it as a real server.
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<DatabaseConnection> {
  const started = performance.now();
  await mkdir(dataDir, { recursive: true });
  const lock = lockDataDir(dataDir);
  let db: PGlite | undefined;
  try {
    db = await PGlite.create({ dataDir: join(dataDir, 'pglite') });
    const server = new PGLiteSocketServer({
      db,
      host: '127.0.0.1',
      port: 0,
      maxConnections: MAX_CONNECTIONS,
    });
    await server.start();
    const ready = Math.round(performance.now() - started);
    const shown = relative(process.cwd(), dataDir) || dataDir;
    const running = db;
    return {
      url: `postgres://postgres@${server.getServerConn()}/postgres`,
      description: `embedded PostgreSQL (PGlite) in ${shown}/, ready in ${ready} ms`,
      preparedStatements: false,
      close: async () => {
        await server.stop();
        await running.close();
        lock.release();
      },
    };
  } catch (error) {
    await db?.close().catch(() => undefined);
    lock.release();
    throw error;
  }
}
