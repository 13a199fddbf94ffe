/**
 * PostgreSQL in WebAssembly (PGlite) for a test run on a machine with no PostgreSQL server.
 * Loaded by the global setup and teardown only, so it runs in Jest's own process, never in a
 * test's module registry.
 *
 * A PGlite instance is one database (it ignores the name a client asks for), so every test
 * database is an instance of its own, in memory, served to the ordinary `pg` driver on a loopback
 * port by pglite-socket. "Create" gives a fresh instance (refused when one of that name runs),
 * "drop" stops it: the suites keep the semantics they have on a server. New instances start from a
 * snapshot of the first one taken right after initdb (about 1 s instead of 4 to 7 s).
 *
 * The suites reach it through a small HTTP endpoint on loopback (`POST` / `DELETE`
 * `/databases/<name>`, answering `{ "url": ... }`), which `database-url.js` calls; it works from
 * Jest workers too.
 */
const { createServer } = require('node:http');
const { PGlite } = require('@electric-sql/pglite');
const { PGLiteSocketServer } = require('@electric-sql/pglite-socket');

/**
 * pglite-socket accepts one client by default, which connection pools cannot live with (a suite
 * may hold several apps of up to 10 connections each). PGlite still runs one statement at a
 * time: the server queues them and keeps a transaction's statements together.
 */
const MAX_CONNECTIONS = 100;

class EmbeddedPostgres {
  constructor() {
    /** @type {Map<string, { url: string, db: PGlite, server: PGLiteSocketServer }>} */
    this.databases = new Map();
    /** The data directory right after initdb, as a tarball. */
    this.template = null;
    this.control = null;
    this.controlUrl = null;
    /** Creations and drops run one at a time. */
    this.queue = Promise.resolve();
  }

  /** Starts the control endpoint; returns its URL. */
  async start() {
    const control = createServer((req, res) => this.handle(req, res));
    await new Promise((resolve, reject) => {
      control.once('error', reject);
      control.listen(0, '127.0.0.1', () => resolve());
    });
    this.control = control;
    this.controlUrl = `http://127.0.0.1:${control.address().port}`;
    return this.controlUrl;
  }

  /** A fresh, empty database called `name` (refused when one exists); returns its URL. */
  create(name) {
    return this.serially(async () => {
      if (this.databases.has(name)) throw new Error(`database '${name}' already exists`);
      let db;
      if (this.template) {
        db = await PGlite.create({ loadDataDir: this.template });
      } else {
        db = await PGlite.create();
        this.template = await db.dumpDataDir('none');
      }
      try {
        const server = new PGLiteSocketServer({
          db,
          host: '127.0.0.1',
          port: 0,
          maxConnections: MAX_CONNECTIONS,
        });
        await server.start();
        const url = `postgres://postgres@${server.getServerConn()}/${name}`;
        this.databases.set(name, { url, db, server });
        return url;
      } catch (error) {
        await db.close().catch(() => undefined);
        throw error;
      }
    });
  }

  drop(name) {
    return this.serially(() => this.stopDatabase(name));
  }

  /** Stops every database and the control endpoint. */
  async stop() {
    const control = this.control;
    this.control = null;
    if (control) {
      control.closeAllConnections();
      await new Promise((resolve) => control.close(() => resolve()));
    }
    await this.serially(async () => {
      for (const name of [...this.databases.keys()]) await this.stopDatabase(name);
    });
  }

  async stopDatabase(name) {
    const running = this.databases.get(name);
    if (!running) return;
    this.databases.delete(name);
    await running.server.stop();
    await running.db.close();
  }

  serially(work) {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  async handle(req, res) {
    const reply = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const match = /^\/databases\/([a-z0-9_]{1,63})$/.exec(req.url ?? '');
    req.resume();
    if (!match || !['POST', 'DELETE'].includes(req.method)) {
      reply(404, { error: `no such route: ${req.method} ${req.url}` });
      return;
    }
    try {
      if (req.method === 'POST') {
        reply(200, { url: await this.create(match[1]) });
      } else {
        await this.drop(match[1]);
        reply(200, {});
      }
    } catch (error) {
      reply(500, { error: String(error?.stack ?? error) });
    }
  }
}

module.exports = { EmbeddedPostgres };
