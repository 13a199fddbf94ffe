import { Logger } from '@nestjs/common';
import { Clock, SystemClock } from '../core/clock';
import type { JsonValue } from '../core/json-value';
import { SessionRecord, withData } from '../core/session-record';
import type { SessionChangeNotice } from './session-change-listener';

/** The limits of a {@link SessionCache} (option `cache`, resolved). */
export interface SessionCacheLimits {
  maxEntries: number;
  maxBytes: number;
  /** Milliseconds a copy is used at most. */
  maxAge: number;
}

/**
 * A moment in the cache's history, taken before a read or a write of the store: what that
 * statement returns may be kept only if nothing invalidated the row since.
 */
export type CacheTicket = number;

/** The data of a kept record, never read: a copy's own data is its JSON. */
export const NO_DATA: Record<string, JsonValue> = Object.freeze({});

/** One copy: the record without its data, the data as JSON (parsed again for every reader). */
interface Entry {
  record: SessionRecord;
  json: string;
  storedAt: number;
  userId: string | null;
}

/** An invalidation of a row (or of a user's rows): when, and the version it told of. */
interface Invalidation {
  at: CacheTicket;
  /** `Infinity` when the change did not say (a deletion, plain SQL): every copy is stale. */
  version: number;
}

/**
 * Bytes counted per entry besides its data: the record's other fields, its buffers and the
 * map's share (measured by `npm run bench:cache`: about 1.5 KB of heap and 0.3 KB of buffers).
 */
const ENTRY_OVERHEAD = 2_048;
/** Invalidations remembered for reads under way; past this many, older reads keep nothing. */
const INVALIDATION_LOG_LIMIT = 10_000;

/** The wait before asking again for the triggers after `attempt` failed: 100 ms to 3 s. */
function triggerCheckDelay(attempt: number): number {
  return Math.min(100 * 2 ** attempt, 3_000);
}

/** `version` of a notice payload `hex:version`, `Infinity` for a bare hex. */
function changeOf(payload: string): { hex: string; version: number } {
  const colon = payload.indexOf(':');
  return colon < 0
    ? { hex: payload, version: Infinity }
    : { hex: payload.slice(0, colon), version: Number(payload.slice(colon + 1)) };
}

/**
 * The in-process copies of live sessions, in front of the PostgreSQL repository. Used only
 * while the listening connection hears the changes every instance commits (between a `resync`
 * and the next `lost`, once the change triggers were found and the other instances were
 * `joined`), emptied whenever that
 * starts or stops; bounded in entries and bytes (least recently used first out) and in age.
 *
 * Consistency: a change made by this instance drops the copy before its statement's promise
 * resolves; a change made elsewhere drops it when its notification arrives (after the commit,
 * in commit order). A read or write under way keeps what it got only if no invalidation of the
 * row (or of its user) came since its ticket, except one telling of a version it already has.
 */
export class SessionCache {
  private readonly logger = new Logger(SessionCache.name);
  /** In least-recently-used order: a hit moves its entry to the end. */
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private epoch = 0;
  /**
   * By row (the hashed ID's hex) and by user (every row of the user): the invalidations a read
   * under way may still have to honour, oldest first, each telling of a lower version than the
   * one before it (one that tells of no more than a newer one adds nothing and is dropped).
   */
  private readonly rowInvalidations = new Map<string, Invalidation[]>();
  private readonly userInvalidations = new Map<string, Invalidation[]>();
  /** Tickets older than this keep nothing: the log before it was let go. */
  private floor = 0;
  private listening = false;
  /**
   * The listening connection's progress since its last `resync`: whether the change triggers
   * were found (`undefined` while being checked) and whether it `joined`. Both, and the cache is
   * used. `connection` counts resyncs and losses: a check that outlived its connection counts
   * for nothing.
   */
  private connection = 0;
  private triggersFound: boolean | undefined;
  private joined = false;
  /** Changes of this tick to announce to the other instances. */
  private announcements: string[] = [];
  /** Whether an announcing statement is under way. */
  private announcing = false;
  hits = 0;
  misses = 0;
  /** Milliseconds now, by `clock`: the wall clock's without making a Date (twice a write). */
  private readonly nowMs: () => number;

  constructor(
    private readonly limits: SessionCacheLimits,
    private readonly clock: Clock,
    /** Sends each payload on the changes channel, in one statement. */
    private readonly notify: (payloads: string[]) => Promise<void>,
    /**
     * Whether another instance may keep copies now; while none does (this instance is alone),
     * a change is announced to no one, and nothing of it is queued.
     */
    private readonly othersMayKeepCopies: () => boolean = () => true,
  ) {
    this.nowMs = clock.constructor === SystemClock ? Date.now : () => this.clock.now().getTime();
  }

  /** Whether reads may be answered from the cache now. */
  get usable(): boolean {
    return this.listening;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Bytes counted against `maxBytes`. */
  get weight(): number {
    return this.bytes;
  }

  /**
   * Follows the listener's notices. `triggersPresent` is asked at each `resync`: without the
   * triggers no change would ever be told, and the cache stays unused. Used from the `joined`
   * after it (the other instances announce to this one from then on), until the next `lost` or
   * `resync`.
   */
  async onNotice(
    notice: SessionChangeNotice,
    triggersPresent: () => Promise<boolean>,
  ): Promise<void> {
    switch (notice.kind) {
      case 'changed':
      case 'ended':
        for (const payload of notice.idHashes) {
          const { hex, version } = changeOf(payload);
          this.invalidate(this.rowInvalidations, hex, version);
          const entry = this.entries.get(hex);
          if (entry && entry.record.version < version) this.remove(hex, entry);
        }
        return;
      case 'cleared':
        this.clear();
        return;
      case 'lost':
        this.restart();
        return;
      case 'resync': {
        const connection = this.restart();
        const present = await this.checkTriggers(connection, triggersPresent);
        if (present === undefined) return;
        this.triggersFound = present;
        if (!present) {
          this.logger.warn(
            'The session cache is off: the table "session" has no change triggers (run the ' +
              'migration SessionChangedNotification1764000000005).',
          );
        }
        this.startWhenReady();
        return;
      }
      case 'joined':
        this.joined = true;
        this.startWhenReady();
        return;
      default:
        return;
    }
  }

  /** Unused and empty until the listening connection is ready again; its count. */
  private restart(): number {
    this.listening = false;
    this.triggersFound = undefined;
    this.joined = false;
    this.clear();
    return ++this.connection;
  }

  /**
   * Whether the change triggers are there, asked again while the question fails (a passing
   * database error must not leave the cache off for the life of the connection); `undefined`
   * once the connection it was asked for is gone.
   */
  private async checkTriggers(
    connection: number,
    triggersPresent: () => Promise<boolean>,
  ): Promise<boolean | undefined> {
    for (let attempt = 0; connection === this.connection; attempt++) {
      try {
        const present = await triggersPresent();
        return connection === this.connection ? present : undefined;
      } catch (error) {
        if (attempt === 0) {
          this.logger.warn(
            `The session cache could not check for its triggers (${String(error)}); it stays ` +
              'unused and asks again.',
          );
        }
        await new Promise((resolve) => setTimeout(resolve, triggerCheckDelay(attempt)).unref());
      }
    }
    return undefined;
  }

  /** In use once the triggers were found and the other instances know of this one. */
  private startWhenReady(): void {
    if (this.listening || !this.triggersFound || !this.joined) return;
    this.clear();
    this.listening = true;
  }

  /** The moment to pass to {@link keep} for what a statement sent after it returns. */
  ticket(): CacheTicket {
    return this.epoch;
  }

  /** A fresh copy of the live session whose hashed ID is `hex`, or `undefined`. */
  get(hex: string): SessionRecord | undefined {
    if (!this.listening) return undefined;
    const entry = this.entries.get(hex);
    if (!entry) {
      this.misses++;
      return undefined;
    }
    const now = this.nowMs();
    if (now - entry.storedAt > this.limits.maxAge || entry.record.expiresAt.getTime() <= now) {
      this.remove(hex, entry);
      this.misses++;
      return undefined;
    }
    this.entries.delete(hex);
    this.entries.set(hex, entry);
    this.hits++;
    return withData(entry.record, JSON.parse(entry.json) as Record<string, JsonValue>);
  }

  /**
   * The copy of `idHash` as kept, stale or not, without its data: the row at `version`, to
   * which a change of this instance that returns the next version applies. `undefined` when
   * there is none (or the cache is not in use).
   */
  copyOf(idHash: Buffer, hex = idHash.toString('hex')): Omit<SessionRecord, 'data'> | undefined {
    if (!this.listening) return undefined;
    return this.entries.get(hex)?.record;
  }

  /**
   * Keeps a copy of `record` as a statement sent after `ticket` returned it, when it is a live,
   * presented session and nothing invalidated it (or its user) meanwhile beyond its version.
   */
  keep(record: SessionRecord, ticket: CacheTicket, hex = record.idHash.toString('hex')): void {
    if (!this.admits(record, ticket, hex)) return;
    this.store(hex, withData(record, NO_DATA), JSON.stringify(record.data));
  }

  /**
   * {@link keep} of a record whose data is given as its JSON `json` (the record's own `data` is
   * not read): for a write that returns the data as PostgreSQL's text of it, neither parsed nor
   * serialised again. `record` is kept as it is: a fresh object no one else holds.
   */
  keepWithJson(
    record: Omit<SessionRecord, 'data'>,
    json: string,
    ticket: CacheTicket,
    hex = record.idHash.toString('hex'),
  ): void {
    if (!this.admits(record, ticket, hex)) return;
    this.store(hex, record as SessionRecord, json);
  }

  /** Whether a copy of `record`, read or written after `ticket`, may be kept. */
  private admits(record: Omit<SessionRecord, 'data'>, ticket: CacheTicket, hex: string): boolean {
    if (!this.listening || ticket < this.floor) return false;
    if (record.obsoletedAt !== null || record.revokedAt !== null || record.presentedAt === null) {
      return false;
    }
    if (invalidatedSince(this.rowInvalidations.get(hex), ticket, record.version)) return false;
    return (
      record.userId === null ||
      !invalidatedSince(this.userInvalidations.get(record.userId), ticket, -1)
    );
  }

  private store(hex: string, record: SessionRecord, json: string): void {
    const entry: Entry = {
      record,
      json,
      storedAt: this.nowMs(),
      userId: record.userId,
    };
    const previous = this.entries.get(hex);
    if (previous) this.remove(hex, previous);
    this.entries.set(hex, entry);
    this.bytes += json.length + ENTRY_OVERHEAD;
    this.trim();
  }

  /**
   * Drops the copies of rows this instance just changed, and keeps reads under way from
   * keeping what they read before: `version` is the row's version after the change when the
   * statement says, `Infinity` otherwise.
   */
  forget(idHash: Buffer, version = Infinity, hex = idHash.toString('hex')): void {
    this.invalidate(this.rowInvalidations, hex, version);
    const entry = this.entries.get(hex);
    if (entry && entry.record.version < version) this.remove(hex, entry);
  }

  /**
   * Tells the other instances that this one changed the data or deadlines of `idHash`, now at
   * `version` (call it once the change is committed): announcements go out together, in one
   * statement outside any write's transaction (sent by `notify`: from the listening connection,
   * see `sessionCacheProvider`). Sessions that stop being live need none: the triggers of the
   * table announce those.
   */
  announce(idHash: Buffer, version: number, hex = idHash.toString('hex')): void {
    if (!this.othersMayKeepCopies()) return;
    this.announcements.push(`${hex}:${version}`);
    if (this.announcements.length === 1 && !this.announcing)
      setImmediate(() => void this.sendAnnouncements());
  }

  /**
   * Sends what waits to be announced; what comes while a statement is under way waits for it
   * and goes in the next, as touches do: a busy instance sends one statement per round trip,
   * not one per tick.
   */
  private async sendAnnouncements(): Promise<void> {
    this.announcing = true;
    try {
      while (this.announcements.length > 0) {
        const payloads = this.announcements;
        this.announcements = [];
        // A failure leaves the other instances' copies to their maxAge; the store logged it.
        await this.notify(payloads).catch(() => undefined);
      }
    } finally {
      this.announcing = false;
    }
  }

  /** Drops the copies of every session of `userId` (a revocation that counts, not lists). */
  forgetUser(userId: string): void {
    this.invalidate(this.userInvalidations, userId, Infinity);
    for (const [hex, entry] of this.entries) {
      if (entry.userId === userId) this.remove(hex, entry);
    }
  }

  /** Adds an invalidation of `key` (a row's hex or a user) to `logs`, telling of `version`. */
  private invalidate(logs: Map<string, Invalidation[]>, key: string, version: number): void {
    const log = logs.get(key);
    this.epoch++;
    if (
      this.rowInvalidations.size + this.userInvalidations.size >= INVALIDATION_LOG_LIMIT &&
      !log
    ) {
      // Reads under way before now keep nothing; the log starts again.
      this.clearInvalidations();
      this.floor = this.epoch;
      return;
    }
    // Not only the latest counts: this instance's own statements are answered in any order,
    // not in commit order (a write committed before a logout's DELETE may be answered after
    // it, or after the DELETE's notice, and tell of a lower version than the deletion's
    // Infinity). An earlier invalidation of a higher version still refuses the reads and writes
    // under way before it; one of a version no higher than this one's adds nothing (the log's
    // versions fall, so those are at its end).
    const invalidation = { at: this.epoch, version };
    if (!log) {
      logs.set(key, [invalidation]);
      return;
    }
    while (log.length > 0 && log[log.length - 1].version <= version) log.pop();
    log.push(invalidation);
  }

  private clearInvalidations(): void {
    this.rowInvalidations.clear();
    this.userInvalidations.clear();
  }

  /**
   * Drops every copy, on this instance. For tests that change session rows with plain SQL (or
   * send `SELECT pg_notify('nest_session_security_changed', encode(id_hash, 'hex'))` after such a
   * change, which every instance hears).
   */
  clear(): void {
    this.entries.clear();
    this.bytes = 0;
    this.clearInvalidations();
    this.floor = ++this.epoch;
  }

  private remove(hex: string, entry: Entry): void {
    this.entries.delete(hex);
    this.bytes -= entry.json.length + ENTRY_OVERHEAD;
  }

  /** The least recently used copies go until both limits hold. */
  private trim(): void {
    for (const [hex, entry] of this.entries) {
      if (this.entries.size <= this.limits.maxEntries && this.bytes <= this.limits.maxBytes) return;
      this.remove(hex, entry);
    }
  }
}

/** Whether an invalidation in `log` since `ticket` told of a version newer than `version`. */
function invalidatedSince(
  log: Invalidation[] | undefined,
  ticket: CacheTicket,
  version: number,
): boolean {
  if (!log) return false;
  // The first since the ticket tells of the highest version of those since it.
  const since = log.find((invalidation) => invalidation.at > ticket);
  return since !== undefined && since.version > version;
}
