import { DataSource } from 'typeorm';
import type { PoolClient } from 'pg';
import {
  ASYNCHRONOUS_COMMIT,
  runLocked,
  runStatement,
  StatementOptions,
  StatementResult,
} from './run-statement';
import { NO_DATA, type SessionCache } from './session-cache';
import { batchedUpdateParams, batchedUpdateStatement } from './batched-update';
import { LOCK_ORDER, lockedInOrder } from './lock-order';
import { BatchedRow, BatchedWrite, WriteBatcher, WrittenRow } from './write-batcher';
import { RegenerationPurpose } from '../core/obsolete-id-policy';
import { afterUpdate, SessionRecord } from '../core/session-record';
import {
  DataChange,
  NewSession,
  Regeneration,
  RevocationScope,
  SessionRepository,
  SessionTouch,
  SessionUpdate,
} from './session.repository';

interface SessionRow {
  id_hash: Buffer;
  handle: string;
  user_id: string | null;
  data: SessionRecord['data'];
  created_at: Date;
  authenticated_at: Date | null;
  last_seen_at: Date;
  rotated_at: Date;
  expires_at: Date;
  obsoleted_at: Date | null;
  obsoleted_by: RegenerationPurpose | null;
  presented_at: Date | null;
  successor: Buffer | null;
  revoked_at: Date | null;
  csrf_secret: Buffer | null;
  remember_me_handle: string | null;
  ip: string | null;
  user_agent: string | null;
  version: number;
}

const COLUMNS = `id_hash, handle, user_id, data, created_at, authenticated_at, last_seen_at,
  rotated_at, expires_at, obsoleted_at, obsoleted_by, presented_at, successor, revoked_at,
  csrf_secret, remember_me_handle, ip, user_agent, version`;

/** The column list qualified by a table alias (for RETURNING from a CTE). */
function prefixed(alias: string): string {
  return COLUMNS.split(',')
    .map((column) => `${alias}.${column.trim()}`)
    .join(', ');
}

/** A row that can still be used or written: not replaced, not revoked (`prefix`: `s.`, say). */
function liveRow(prefix = ''): string {
  return `${prefix}obsoleted_at IS NULL AND ${prefix}revoked_at IS NULL`;
}
const LIVE = liveRow();

/** The data expression for a change: `$replace`, `$set` and `$remove` are its parameters. */
function mergedData(source: string, first: number): string {
  const [replace, set, remove] = [first, first + 1, first + 2].map((n) => `$${n}`);
  return `CASE WHEN ${replace}::boolean THEN ${set}::jsonb
    ELSE (${source} - ${remove}::text[]) || ${set}::jsonb END`;
}

/*
 * The statements of every request are built once: a template evaluated per call is a new
 * string each time, which the prepared-statement lookup must hash again.
 */
const SELECT_BY_HASH = `SELECT ${COLUMNS} FROM "session" WHERE id_hash = $1`;
const SELECT_BY_HASHES = `SELECT ${COLUMNS} FROM "session" WHERE id_hash = ANY($1)`;

/** The UPDATE of a request: parameters `$1` = id_hash, then touch, data change, CSRF secret. */
function updateStatement(
  touch: boolean,
  data: boolean,
  secret: boolean,
  guardedKeys: number,
  returning: string,
): string {
  const assignments = ['version = version + 1'];
  let last = 1;
  if (touch) assignments.push(`last_seen_at = $${++last}`, `expires_at = $${++last}`);
  if (data) {
    assignments.push(`data = ${mergedData('data', last + 1)}`);
    last += 3;
  }
  if (secret) assignments.push(`csrf_secret = COALESCE(csrf_secret, $${++last})`);
  // The guard: each listed key still holds the expected value (a key absent from the expected
  // object must still be absent), compared as jsonb. Plain expressions on the row, one per
  // key: a sub-select here would not be evaluated again on the row a concurrent write left
  // (PostgreSQL's re-check after waiting for the row lock).
  const expected = last + 1;
  const guarded = Array.from(
    { length: guardedKeys },
    (_, n) =>
      `AND (data -> $${expected + 1 + n}::text) IS NOT DISTINCT FROM ($${expected}::jsonb -> $${expected + 1 + n}::text)`,
  ).join(' ');
  return `UPDATE "session" SET ${assignments.join(', ')}
       WHERE id_hash = $1 AND ${LIVE} ${guarded}
       RETURNING ${returning}`;
}

/** The touches of many sessions (`touchAll`): `$1` id hashes, `$2` last seen, `$3` expiry. */
const TOUCH_ALL = `WITH ${ASYNCHRONOUS_COMMIT}, ${lockedInOrder('$1::bytea[]', LIVE)}
  UPDATE "session" s SET last_seen_at = t.last_seen_at, expires_at = t.expires_at,
    version = s.version + 1
  FROM unnest($1::bytea[], $2::timestamptz[], $3::timestamptz[])
    AS t(id_hash, last_seen_at, expires_at), commit_mode, locked
  WHERE s.id_hash = t.id_hash AND s.id_hash = locked.id_hash AND ${liveRow('s.')}
    AND s.last_seen_at < t.last_seen_at
  RETURNING ${prefixed('s')}`;

/**
 * What an UPDATE returns: its new version; with the cache, also what it may change (the data as
 * the merge left it, and the CSRF secret when it sets one) when the cache has a copy of the row
 * to apply them to, or the whole row when it has none. The cache keeps the result: the next
 * request's read sends no SQL.
 */
const RETURNED = {
  version: 'version',
  // The data as PostgreSQL's text of it: the cache keeps JSON text, so pg need not parse it
  // for the cache to serialise it again.
  changedData: 'version, data::text AS data_json',
  changedDataAndSecret: 'version, data::text AS data_json, csrf_secret',
  row: COLUMNS,
} as const;
type Returned = keyof typeof RETURNED;

/**
 * Every UPDATE variant, built when first needed, by a number made of what it returns, its
 * guarded keys and its bits (no key string to build and hash at every write).
 */
const UPDATE_STATEMENTS = new Map<number, string>();
/** Each variant's code: its place in `RETURNED`, so that codes run from 0 without a gap. */
const RETURNED_CODES = Object.fromEntries(
  Object.keys(RETURNED).map((returned, code) => [returned, code]),
) as Record<Returned, number>;
/** The key's factor for the guarded keys: one more than the highest code, so no keys collide. */
const RETURNED_VARIANTS = Object.keys(RETURNED).length;

/** The UPDATE by the bits touch (4), data (2), secret (1), with `keys` guarded keys. */
function updateStatementFor(bits: number, keys: number, returned: Returned): string {
  const name = (keys * RETURNED_VARIANTS + RETURNED_CODES[returned]) * 8 + bits;
  let statement = UPDATE_STATEMENTS.get(name);
  if (!statement) {
    statement = updateStatement(
      (bits & 4) !== 0,
      (bits & 2) !== 0,
      (bits & 1) !== 0,
      keys,
      RETURNED[returned],
    );
    UPDATE_STATEMENTS.set(name, statement);
  }
  return statement;
}

/** The UPDATE of a batch of requests' writes: what each row returns, with the cache and without. */
const BATCHED_UPDATE = {
  withCache: batchedUpdateStatement(
    liveRow,
    's.id_hash, s.version, s.data::text AS data_json, s.csrf_secret',
  ),
  withoutCache: batchedUpdateStatement(liveRow, 's.id_hash, s.version'),
};

/**
 * The assignments that revoke a row: its data emptied, its successor forgotten, kept until
 * `$3` so that its next use is answered as revoked. `$2` is the moment.
 */
const REVOKED = `revoked_at = $2, expires_at = $3, data = '{}'::jsonb, successor = NULL,
  version = s.version + 1`;

/**
 * A revocation repeats until a pass finds nothing: a pass cannot see a successor that a
 * concurrent regeneration inserted after the pass began (it waits for that regeneration's lock
 * on the old row, then revokes the old row only), and the next pass, with a newer snapshot,
 * does. A regeneration can never start from a revoked row, so the passes end; this bounds them
 * anyway against a user who keeps signing in during a "sign out everywhere".
 */
const MAX_REVOCATION_PASSES = 20;

function changeParams(change: DataChange): unknown[] {
  return [change.replace, JSON.stringify(change.set), change.remove];
}

function toRecord(row: SessionRow): SessionRecord {
  return {
    idHash: row.id_hash,
    handle: row.handle,
    userId: row.user_id,
    data: row.data,
    createdAt: row.created_at,
    authenticatedAt: row.authenticated_at,
    lastSeenAt: row.last_seen_at,
    rotatedAt: row.rotated_at,
    expiresAt: row.expires_at,
    obsoletedAt: row.obsoleted_at,
    obsoletedBy: row.obsoleted_by,
    presentedAt: row.presented_at,
    // In the order of withData's: records from the database and from the cache share a shape.
    revokedAt: row.revoked_at,
    successor: row.successor,
    csrfSecret: row.csrf_secret,
    rememberMeHandle: row.remember_me_handle,
    ip: row.ip,
    userAgent: row.user_agent,
    version: row.version,
  };
}

/** How the PostgreSQL repository sends its statements (the module's options of the same names). */
export interface PostgresStoreOptions extends StatementOptions {
  /** Writes of requests that come together share one statement ({@link WriteBatcher}). Default `true`. */
  batchWrites?: boolean;
}

/** {@link SessionRepository} on PostgreSQL through the application's TypeORM `DataSource`. */
export class PostgresSessionRepository extends SessionRepository {
  /** The in-process copies of live sessions, when the module's option `cache` is on. */
  private cache: SessionCache | undefined;
  /** Inside {@link serializeUser}: the cache's forgetting, done again when the transaction ends. */
  private readonly forgetAgain?: ((cache: SessionCache) => void)[];
  /** The writes of requests, committed together when several come in one turn. */
  private readonly batcher = new WriteBatcher<BatchedWrite & { returned: Returned }>(
    (write) => this.updateAlone(write.idHash, write.update, write.returned),
    (writes) =>
      this.run<BatchedRow>(
        this.cache ? BATCHED_UPDATE.withCache : BATCHED_UPDATE.withoutCache,
        batchedUpdateParams(writes),
      ),
  );

  constructor(
    private readonly dataSource: DataSource,
    private readonly statementOptions: PostgresStoreOptions = {},
    /** Inside {@link serializeUser}: the client of its transaction. */
    private readonly client?: PoolClient,
  ) {
    super();
  }

  /** Answers reads from `cache` and keeps it current with every change this repository makes. */
  useCache(cache: SessionCache): void {
    this.cache = cache;
  }

  /**
   * The cache drops its copy of a row this repository changed. Inside a transaction, again when
   * it ends: a read between the statement and the commit still saw the row as it was.
   */
  private forget(idHash: Buffer, version?: number, knownHex?: string): void {
    const cache = this.cache;
    if (!cache) return;
    const hex = knownHex ?? idHash.toString('hex');
    // Outside a transaction (every request's write) without a closure: once is enough.
    if (this.forgetAgain) this.forgetting((cache) => cache.forget(idHash, version, hex));
    else cache.forget(idHash, version, hex);
    if (version === undefined) return;
    // A row still live at a new version: the other instances hear it from here, once committed
    // (those that end are announced by the table's triggers).
    if (this.forgetAgain) this.forgetAgain.push(() => cache.announce(idHash, version, hex));
    else cache.announce(idHash, version, hex);
  }

  private forgetting(forget: (cache: SessionCache) => void): void {
    if (!this.cache) return;
    forget(this.cache);
    this.forgetAgain?.push(forget);
  }

  private forgetRows(rows: SessionRecord[]): SessionRecord[] {
    for (const row of rows) this.forget(row.idHash);
    return rows;
  }

  /** One statement on the application's data source (an extension point for subclasses). */
  protected run<T>(sql: string, params: unknown[]): Promise<StatementResult<T>> {
    return runStatement<T>(this.client ?? this.dataSource, sql, params, this.statementOptions);
  }

  /**
   * One transaction per call, behind a transaction-level advisory lock on the user: logins of
   * one user (with a session limit) run one after the other, each counting what the previous
   * committed.
   */
  override serializeUser<T>(
    userId: string,
    work: (repository: SessionRepository) => Promise<T>,
  ): Promise<T> {
    if (this.client) return work(this);
    const forgetAgain: ((cache: SessionCache) => void)[] = [];
    return runLocked(
      this.dataSource,
      `nest-session-security:user:${userId}`,
      (client) => work(this.onClient(client, forgetAgain)),
      this.statementOptions,
    ).finally(() => {
      const { cache } = this;
      if (cache) for (const forget of forgetAgain) forget(cache);
    });
  }

  /**
   * This repository on the client of a transaction: an object whose prototype is this one, so
   * that a subclass's overrides (of `run` or of any method) apply inside `serializeUser` too.
   */
  private onClient(client: PoolClient, forgetAgain: ((cache: SessionCache) => void)[]): this {
    return Object.create(this, {
      client: { value: client },
      forgetAgain: { value: forgetAgain },
    }) as this;
  }

  /** Runs a revoking statement until a pass revokes nothing; all rows it revoked. */
  private async untilNoneLeft(
    pass: () => Promise<SessionRow[]>,
    /** Whether an empty pass may have missed a row (then another pass runs). */
    missedSome: () => Promise<boolean> = async () => false,
  ): Promise<SessionRecord[]> {
    const revoked: SessionRecord[] = [];
    for (let passes = 0; passes < MAX_REVOCATION_PASSES; passes++) {
      const rows = await pass();
      if (rows.length === 0 && !(await missedSome())) break;
      revoked.push(...this.forgetRows(rows.map(toRecord)));
    }
    return revoked;
  }

  async serverKey(candidate: Buffer, now: Date): Promise<Buffer> {
    // Two statements: a SELECT in the INSERT's statement would not see the row of an instance
    // that stored its key while this INSERT waited for it.
    await this.run(
      `INSERT INTO "session_server_key" (id, key, created_at) VALUES (1, $1, $2)
       ON CONFLICT (id) DO NOTHING`,
      [candidate, now],
    );
    const { rows } = await this.run<{ key: Buffer }>(
      `SELECT key FROM "session_server_key" WHERE id = 1`,
      [],
    );
    return rows[0].key;
  }

  /** The cache's copy; none inside a transaction, which must see the row as it locks it. */
  override findAtHand(hexIdHash: string): SessionRecord | undefined {
    return this.client ? undefined : this.cache?.get(hexIdHash);
  }

  async findByHashes(idHashes: Buffer[]): Promise<SessionRecord[]> {
    if (idHashes.length !== 1) {
      const { rows } = await this.run<SessionRow>(SELECT_BY_HASHES, [idHashes]);
      return rows.map(toRecord);
    }
    const ticket = this.cache?.ticket();
    const { rows } = await this.run<SessionRow>(SELECT_BY_HASH, idHashes);
    const records = rows.map(toRecord);
    if (ticket !== undefined && records[0]) this.cache?.keep(records[0], ticket);
    return records;
  }

  async insert(session: NewSession): Promise<SessionRecord> {
    const { rows } = await this.run<SessionRow>(
      `INSERT INTO "session" (id_hash, handle, user_id, data, created_at, authenticated_at,
         last_seen_at, rotated_at, expires_at, ip, user_agent, csrf_secret, presented_at,
         remember_me_handle)
       VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
       RETURNING ${COLUMNS}`,
      [
        session.idHash,
        session.handle,
        session.userId,
        JSON.stringify(session.data),
        session.createdAt,
        session.authenticatedAt,
        session.lastSeenAt,
        session.rotatedAt,
        session.expiresAt,
        session.ip,
        session.userAgent,
        session.csrfSecret,
        session.presentedAt,
        session.rememberMeHandle,
      ],
    );
    return toRecord(rows[0]);
  }

  async update(idHash: Buffer, update: SessionUpdate): Promise<number | null> {
    // Inside a transaction the row is not committed yet: the next read fetches it.
    const cache = this.client ? undefined : this.cache;
    const ticket = cache?.ticket();
    const hex = idHash.toString('hex');
    const copy = cache?.copyOf(idHash, hex);
    // Without a new secret the row keeps the copy's (the version check below proves it).
    const returned: Returned = !cache
      ? 'version'
      : !copy
        ? 'row'
        : update.csrfSecret
          ? 'changedDataAndSecret'
          : 'changedData';
    // Alone: inside a transaction (its client, its commit); a guarded write (its statement
    // compares keys, one per guarded key); a write the cache has no copy for (it returns the
    // whole row, which a batch does not).
    const batchable =
      this.statementOptions.batchWrites !== false &&
      !this.client &&
      returned !== 'row' &&
      !(update.guard && update.guard.keys.length > 0);
    const row = batchable
      ? await this.batcher.write({ idHash, hex, update, returned })
      : await this.updateAlone(idHash, update, returned);
    if (!row) {
      this.forget(idHash, undefined, hex);
      return null;
    }
    this.forget(idHash, row.version, hex);
    if (!cache || ticket === undefined) return row.version;
    // The copy plus this change is the row only when nothing else changed it in between.
    if (!copy) cache.keep(toRecord(row as SessionRow), ticket, hex);
    else if (row.version === copy.version + 1) {
      cache.keepWithJson(
        afterUpdate(copy, {
          data: NO_DATA,
          version: row.version,
          csrfSecret: update.csrfSecret ? (row.csrf_secret ?? null) : copy.csrfSecret,
          touch: update.touch,
        }),
        row.data_json!,
        ticket,
        hex,
      );
    }
    return row.version;
  }

  /** The UPDATE of one row in a statement of its own; its row as `returned` says, if written. */
  private async updateAlone(
    idHash: Buffer,
    update: SessionUpdate,
    returned: Returned,
  ): Promise<(Partial<SessionRow> & WrittenRow) | undefined> {
    const params: unknown[] = [idHash];
    if (update.touch) params.push(update.touch.lastSeenAt, update.touch.expiresAt);
    if (update.data) params.push(...changeParams(update.data));
    if (update.csrfSecret) params.push(update.csrfSecret);
    const bits = (update.touch ? 4 : 0) | (update.data ? 2 : 0) | (update.csrfSecret ? 1 : 0);
    const guarded = update.guard?.keys.length ?? 0;
    if (update.guard && guarded > 0) {
      params.push(JSON.stringify(update.guard.expected), ...update.guard.keys);
    }
    const { rows } = await this.run<Partial<SessionRow> & WrittenRow>(
      updateStatementFor(bits, guarded, returned),
      params,
    );
    return rows[0];
  }

  /**
   * Every touch in one statement, committed with `synchronous_commit = off` (set for this
   * statement's transaction only): a crash may lose the last fraction of a second of touches,
   * which can only make those sessions end sooner; every other write stays durable. A touch
   * never moves `last_seen_at` back.
   */
  override async touchAll(touches: SessionTouch[]): Promise<(number | null)[]> {
    const ticket = this.cache?.ticket();
    const { rows } = await this.run<SessionRow>(TOUCH_ALL, [
      touches.map((touch) => touch.idHash),
      touches.map((touch) => touch.lastSeenAt),
      touches.map((touch) => touch.expiresAt),
    ]);
    const touched = new Map(rows.map((row) => [row.id_hash.toString('hex'), toRecord(row)]));
    return touches.map(({ idHash }) => {
      const record = touched.get(idHash.toString('hex'));
      this.forget(idHash, record?.version);
      if (record && ticket !== undefined) this.cache?.keep(record, ticket);
      return record?.version ?? null;
    });
  }

  async regenerate(regeneration: Regeneration): Promise<SessionRecord | null> {
    const next = regeneration.successor;
    // `prior` locks the old row and keeps its values: the obsolete row keeps only what the
    // obsolete-ID rules need (its data is emptied), the successor starts from the data it had.
    const { rows } = await this.run<SessionRow>(
      `WITH prior AS (
         SELECT id_hash, data, created_at, csrf_secret FROM "session"
         WHERE id_hash = $1 AND ${LIVE}
         FOR UPDATE
       ), old AS (
         UPDATE "session" s SET obsoleted_at = $2, expires_at = $3, successor = $4,
           obsoleted_by = $18, data = '{}'::jsonb, version = s.version + 1
         FROM prior WHERE s.id_hash = prior.id_hash
         RETURNING prior.data, prior.created_at, prior.csrf_secret
       )
       INSERT INTO "session" (id_hash, handle, user_id, data, created_at, authenticated_at,
         last_seen_at, rotated_at, expires_at, ip, user_agent, csrf_secret, remember_me_handle)
       SELECT $5, $6, $7, ${mergedData('old.data', 15)}, old.created_at, $8, $9, $10, $11, $12, $13,
         COALESCE($14::bytea, old.csrf_secret), $19
       FROM old
       RETURNING ${COLUMNS}`,
      [
        regeneration.oldHash,
        regeneration.obsoletedAt,
        regeneration.obsoleteExpiresAt,
        regeneration.successorSeal,
        next.idHash,
        next.handle,
        next.userId,
        next.authenticatedAt,
        next.lastSeenAt,
        next.rotatedAt,
        next.expiresAt,
        next.ip,
        next.userAgent,
        next.csrfSecret,
        ...changeParams(next.data),
        regeneration.purpose,
        next.rememberMeHandle,
      ],
    );
    this.forget(regeneration.oldHash);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async markPresented(idHash: Buffer, at: Date): Promise<void> {
    await this.run(
      `UPDATE "session" SET presented_at = $2 WHERE id_hash = $1 AND presented_at IS NULL`,
      [idHash, at],
    );
    this.forget(idHash);
  }

  async delete(idHash: Buffer): Promise<SessionRecord | null> {
    const { rows } = await this.run<SessionRow>(
      `DELETE FROM "session" WHERE id_hash = $1 RETURNING ${COLUMNS}`,
      [idHash],
    );
    this.forget(idHash);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async findActiveOfUser(userId: string, now: Date): Promise<SessionRecord[]> {
    const { rows } = await this.run<SessionRow>(
      `SELECT ${COLUMNS} FROM "session" WHERE user_id = $1 AND ${LIVE} AND expires_at > $2
       ORDER BY last_seen_at DESC`,
      [userId, now],
    );
    return rows.map(toRecord);
  }

  async revoke(
    userId: string,
    scope: RevocationScope,
    revokedAt: Date,
    expiresAt: Date,
  ): Promise<SessionRecord[]> {
    return this.untilNoneLeft(async () => {
      const { rows } = await this.run<SessionRow>(
        `WITH target AS (
           SELECT ${COLUMNS} FROM "session"
           WHERE user_id = $1 AND revoked_at IS NULL
             AND ($4::text IS NULL OR handle = $4) AND ($5::text IS NULL OR handle <> $5)
             AND ($6::text[] IS NULL OR remember_me_handle = ANY($6))
           ${LOCK_ORDER}
         )
         UPDATE "session" s SET ${REVOKED}
         FROM target WHERE s.id_hash = target.id_hash
         RETURNING ${prefixed('target')}`,
        [
          userId,
          revokedAt,
          expiresAt,
          scope.handle ?? null,
          scope.exceptHandle ?? null,
          scope.rememberMeHandles ?? null,
        ],
      );
      return rows;
    });
  }

  /** Counts in the statement: "sign out everywhere" for a user with many sessions reads nothing back. */
  override async revokeAll(userId: string, revokedAt: Date, expiresAt: Date): Promise<number> {
    let active = 0;
    for (let passes = 0; passes < MAX_REVOCATION_PASSES; passes++) {
      const { rows } = await this.run<{ revoked: number; active: number }>(
        `WITH target AS (
           SELECT id_hash FROM "session" WHERE user_id = $1 AND revoked_at IS NULL ${LOCK_ORDER}
         ), revoked AS (
           UPDATE "session" s SET ${REVOKED}
           FROM target WHERE s.id_hash = target.id_hash AND s.revoked_at IS NULL
           RETURNING s.obsoleted_at
         )
         SELECT count(*)::int AS revoked,
           count(*) FILTER (WHERE obsoleted_at IS NULL)::int AS active
         FROM revoked`,
        [userId, revokedAt, expiresAt],
      );
      this.forgetting((cache) => cache.forgetUser(userId));
      if (!rows[0] || rows[0].revoked === 0) break;
      active += rows[0].active;
    }
    return active;
  }

  async revokeLeastRecentlyUsed(
    userId: string,
    keep: number,
    now: Date,
    expiresAt: Date,
  ): Promise<SessionRecord[]> {
    return this.untilNoneLeft(
      async () => {
        // The ranking locks nothing: FOR UPDATE with OFFSET would lock the rows it skips too,
        // the sessions kept, and two sign-ins switching users in opposite directions would each
        // hold the current session the other regenerates (a deadlock). Only the evicted rows are
        // locked, and their conditions run again on them once locked: still live, and not used
        // since the ranking (a request that touched one meanwhile made it the most recent; the
        // next pass ranks again).
        const { rows } = await this.run<SessionRow>(
          `WITH ranked AS (
           SELECT id_hash, last_seen_at FROM "session"
           WHERE user_id = $1 AND ${LIVE} AND expires_at > $2
           ORDER BY last_seen_at DESC
           OFFSET $4
         ), target AS (
           SELECT ${COLUMNS} FROM "session" evicted
           WHERE id_hash IN (SELECT id_hash FROM ranked)
             AND user_id = $1 AND ${LIVE} AND expires_at > $2
             AND last_seen_at <= (SELECT r.last_seen_at FROM ranked r WHERE r.id_hash = evicted.id_hash)
           ORDER BY id_hash FOR UPDATE OF evicted -- the lock order of lock-order.ts
         )
         UPDATE "session" s SET ${REVOKED}
         FROM target WHERE s.id_hash = target.id_hash
         RETURNING ${prefixed('target')}`,
          [userId, now, expiresAt, keep],
        );
        return rows;
      },
      () => this.overLimit(userId, keep, now),
    );
  }

  /**
   * Whether the user still has more than `keep` live sessions. An eviction pass that waited for
   * a row a concurrent rotation retired skips it, and the successor is seen only by the next
   * statement: an empty pass is the last one only when the user is within the limit.
   */
  private async overLimit(userId: string, keep: number, now: Date): Promise<boolean> {
    const { rows } = await this.run<{ over: boolean }>(
      `SELECT count(*) > $3 AS over FROM "session"
       WHERE user_id = $1 AND ${LIVE} AND expires_at > $2`,
      [userId, now, keep],
    );
    return rows[0].over;
  }

  async deleteExpired(now: Date, limit: number): Promise<number> {
    const { affected } = await this.run(
      `DELETE FROM "session" WHERE id_hash IN (
         SELECT id_hash FROM "session" WHERE expires_at <= $1
         ORDER BY expires_at LIMIT $2
         FOR UPDATE SKIP LOCKED
       )`,
      [now, limit],
    );
    return affected;
  }
}
