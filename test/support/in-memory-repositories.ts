import { Inject, Injectable, Module } from '@nestjs/common';
import {
  JsonValue,
  NewRememberMe,
  NewSession,
  Regeneration,
  RememberMeRecord,
  RememberMeRepository,
  RememberMeRotation,
  RevocationScope,
  SessionRecord,
  SessionRepository,
  SessionStoreError,
  SessionUpdate,
} from 'nest-session-security';
import { isDeepStrictEqual } from 'node:util';

/**
 * The rows of the in-memory repositories: an application service of their own that the test
 * app provides from its own module and the repositories inject (as a Redis client would be).
 * `down` makes every call fail as an unreachable store does.
 */
@Injectable()
export class MemoryStore {
  readonly sessions = new Map<string, SessionRecord>();
  readonly rememberMe = new Map<string, RememberMeRecord>();
  serverKey: Buffer | null = null;
  down = false;
  calls = 0;

  /** Every call goes through here: counted, and refused while the store is down. */
  use(): void {
    this.calls++;
    if (this.down) {
      throw new SessionStoreError('memory store is down', { cause: new Error('down') });
    }
  }
}

@Module({ providers: [MemoryStore], exports: [MemoryStore] })
export class MemoryStoreModule {}

/** A copy that shares nothing with the stored row (callers may change what they get). */
export function copy<T extends object>(record: T): T {
  return Object.fromEntries(
    Object.entries(record).map(([key, value]) => [
      key,
      Buffer.isBuffer(value)
        ? Buffer.from(value)
        : value instanceof Date
          ? new Date(value)
          : key === 'data'
            ? (JSON.parse(JSON.stringify(value)) as JsonValue)
            : value,
    ]),
  ) as T;
}

function changed(
  data: Record<string, JsonValue>,
  change: { replace: boolean; set: Record<string, JsonValue>; remove: string[] },
): Record<string, JsonValue> {
  if (change.replace) return { ...change.set };
  const next = { ...data };
  for (const key of change.remove) delete next[key];
  return { ...next, ...change.set };
}

const live = (row: SessionRecord) => row.obsoletedAt === null && row.revokedAt === null;

/**
 * A {@link SessionRepository} in one process's memory, for the tests: each method runs
 * without awaiting anything, so it is atomic in this process; `serializeUser` is the default.
 */
@Injectable()
export class InMemorySessionRepository extends SessionRepository {
  constructor(@Inject(MemoryStore) private readonly store: MemoryStore) {
    super();
  }

  private get rows(): Map<string, SessionRecord> {
    this.store.use();
    return this.store.sessions;
  }

  async serverKey(candidate: Buffer): Promise<Buffer> {
    this.store.use();
    this.store.serverKey ??= Buffer.from(candidate);
    return Buffer.from(this.store.serverKey);
  }

  async findByHashes(idHashes: Buffer[]): Promise<SessionRecord[]> {
    const rows = this.rows;
    return idHashes.flatMap((hash) => {
      const row = rows.get(hash.toString('hex'));
      return row ? [copy(row)] : [];
    });
  }

  async insert(session: NewSession): Promise<SessionRecord> {
    const row: SessionRecord = {
      ...copy(session),
      obsoletedAt: null,
      obsoletedBy: null,
      successor: null,
      revokedAt: null,
      version: 1,
    };
    this.rows.set(session.idHash.toString('hex'), row);
    return copy(row);
  }

  async update(idHash: Buffer, update: SessionUpdate): Promise<number | null> {
    const row = this.rows.get(idHash.toString('hex'));
    if (!row || !live(row)) return null;
    const guard = update.guard;
    if (guard && !guard.keys.every((key) => isDeepStrictEqual(row.data[key], guard.expected[key])))
      return null;
    if (update.data) row.data = changed(row.data, update.data);
    if (update.touch) Object.assign(row, copy(update.touch));
    if (update.csrfSecret) row.csrfSecret ??= Buffer.from(update.csrfSecret);
    return ++row.version;
  }

  async regenerate(regeneration: Regeneration): Promise<SessionRecord | null> {
    const rows = this.rows;
    const old = rows.get(regeneration.oldHash.toString('hex'));
    if (!old || !live(old)) return null;
    const { data, ...successor } = regeneration.successor;
    const row: SessionRecord = {
      ...copy(successor),
      data: changed(old.data, data),
      createdAt: old.createdAt,
      csrfSecret: successor.csrfSecret ?? old.csrfSecret,
      presentedAt: null,
      obsoletedAt: null,
      obsoletedBy: null,
      successor: null,
      revokedAt: null,
      version: 1,
    };
    Object.assign(old, {
      data: {},
      obsoletedAt: regeneration.obsoletedAt,
      obsoletedBy: regeneration.purpose,
      expiresAt: regeneration.obsoleteExpiresAt,
      successor: Buffer.from(regeneration.successorSeal),
      version: old.version + 1,
    });
    rows.set(successor.idHash.toString('hex'), row);
    return copy(row);
  }

  async markPresented(idHash: Buffer, at: Date): Promise<void> {
    const row = this.rows.get(idHash.toString('hex'));
    if (row) row.presentedAt ??= at;
  }

  async delete(idHash: Buffer): Promise<SessionRecord | null> {
    const rows = this.rows;
    const row = rows.get(idHash.toString('hex'));
    rows.delete(idHash.toString('hex'));
    return row ? copy(row) : null;
  }

  async findActiveOfUser(userId: string, now: Date): Promise<SessionRecord[]> {
    return [...this.rows.values()]
      .filter((row) => row.userId === userId && live(row) && row.expiresAt > now)
      .sort((a, b) => b.lastSeenAt.getTime() - a.lastSeenAt.getTime())
      .map(copy);
  }

  async revoke(
    userId: string,
    scope: RevocationScope,
    revokedAt: Date,
    expiresAt: Date,
  ): Promise<SessionRecord[]> {
    const inScope = (row: SessionRecord) =>
      row.userId === userId &&
      row.revokedAt === null &&
      (scope.handle === undefined || row.handle === scope.handle) &&
      (scope.exceptHandle === undefined || row.handle !== scope.exceptHandle) &&
      (scope.rememberMeHandles === undefined ||
        (row.rememberMeHandle !== null && scope.rememberMeHandles.includes(row.rememberMeHandle)));
    return this.revokeRows([...this.rows.values()].filter(inScope), revokedAt, expiresAt);
  }

  async revokeLeastRecentlyUsed(
    userId: string,
    keep: number,
    now: Date,
    expiresAt: Date,
  ): Promise<SessionRecord[]> {
    const active = [...this.rows.values()]
      .filter((row) => row.userId === userId && live(row) && row.expiresAt > now)
      .sort((a, b) => b.lastSeenAt.getTime() - a.lastSeenAt.getTime());
    return this.revokeRows(active.slice(keep), now, expiresAt);
  }

  async deleteExpired(now: Date, limit: number): Promise<number> {
    const rows = this.rows;
    const expired = [...rows.entries()]
      .filter(([, row]) => row.expiresAt <= now)
      .sort(([, a], [, b]) => a.expiresAt.getTime() - b.expiresAt.getTime())
      .slice(0, limit);
    for (const [key] of expired) rows.delete(key);
    return expired.length;
  }

  private revokeRows(rows: SessionRecord[], revokedAt: Date, expiresAt: Date): SessionRecord[] {
    return rows.map((row) => {
      const before = copy(row);
      Object.assign(row, {
        revokedAt,
        expiresAt,
        data: {},
        successor: null,
        version: row.version + 1,
      });
      return before;
    });
  }
}

/** A {@link RememberMeRepository} in one process's memory, for the tests. */
export class InMemoryRememberMeRepository extends RememberMeRepository {
  constructor(private readonly store: MemoryStore) {
    super();
  }

  private get rows(): Map<string, RememberMeRecord> {
    this.store.use();
    return this.store.rememberMe;
  }

  async find(selector: string): Promise<RememberMeRecord | null> {
    const row = this.rows.get(selector);
    return row ? copy(row) : null;
  }

  async insert(token: NewRememberMe): Promise<void> {
    this.rows.set(token.selector, {
      ...copy(token),
      previousValidatorHash: null,
      previousSuccessor: null,
      rotatedAt: null,
    });
  }

  async rotate(rotation: RememberMeRotation): Promise<boolean> {
    const row = this.rows.get(rotation.selector);
    if (!row || !row.validatorHash.equals(rotation.expectedHash)) return false;
    Object.assign(row, {
      previousValidatorHash: row.validatorHash,
      validatorHash: Buffer.from(rotation.validatorHash),
      previousSuccessor: Buffer.from(rotation.previousSuccessor),
      rotatedAt: rotation.at,
      lastUsedAt: rotation.at,
      expiresAt: rotation.expiresAt,
      ip: rotation.ip,
      userAgent: rotation.userAgent,
    });
    return true;
  }

  async delete(selector: string): Promise<boolean> {
    return this.rows.delete(selector);
  }

  async findActiveOfUser(userId: string, now: Date): Promise<RememberMeRecord[]> {
    return [...this.rows.values()]
      .filter((row) => row.userId === userId && row.expiresAt > now)
      .sort((a, b) => b.lastUsedAt.getTime() - a.lastUsedAt.getTime())
      .map(copy);
  }

  async deleteOfUser(
    userId: string,
    scope: { handles?: string[]; exceptSelector?: string },
  ): Promise<number> {
    const rows = this.rows;
    const doomed = [...rows.values()].filter(
      (row) =>
        row.userId === userId &&
        (scope.handles === undefined || scope.handles.includes(row.handle)) &&
        row.selector !== scope.exceptSelector,
    );
    for (const row of doomed) rows.delete(row.selector);
    return doomed.length;
  }

  async deleteExpired(now: Date, limit: number): Promise<number> {
    const rows = this.rows;
    const expired = [...rows.values()]
      .filter((row) => row.expiresAt <= now)
      .sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime())
      .slice(0, limit);
    for (const row of expired) rows.delete(row.selector);
    return expired.length;
  }
}
