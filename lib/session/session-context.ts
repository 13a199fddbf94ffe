import { JsonValue } from '../core/json-value';
import { issuePreSession, PreSession, renewPreSession } from '../core/pre-session-token';
import { SessionRecord } from '../core/session-record';
import { DataChange } from '../storage/session.repository';
import { SessionDenialCode } from '../http/session.exceptions';

/** Why the session the request pointed at cannot be used. */
export interface SessionDenial {
  code: SessionDenialCode;
  message: string;
}

/** Information about the client that is stored with a session for its device list. */
export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

/** A functional update of one key: the new value from the current one (`undefined`: delete). */
export type KeyUpdate = (current: JsonValue | undefined) => JsonValue | undefined;

/** The stored value of `key` in `record` (`undefined` when absent). */
function storedValue(record: SessionRecord | null, key: string): JsonValue | undefined {
  return record && Object.hasOwn(record.data, key) ? record.data[key] : undefined;
}

/** Whether two JSON values (as PostgreSQL's jsonb returns them) are the same. */
function sameJson(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The condition of a write: these keys must still hold these values (absent keys: absent). */
export interface DataGuard {
  keys: string[];
  expected: Record<string, JsonValue>;
}

/** What the response must do with the session cookie. */
export type CookieAction = 'set' | 'clear' | null;

/** What the response must do with the remember-me cookie. */
export type RememberMeCookieAction = { set: string } | 'clear' | null;

/**
 * Everything the package knows about one request's session: the stored row (if any), the
 * token that reaches it, the data as the handler sees it and what changed. Internal: the
 * handler sees it through the {@link Session} facade.
 */
export class SessionContext {
  token: string | null = null;
  record: SessionRecord | null = null;
  private dataMap: Map<string, JsonValue> | null = null;
  /** Keys written (value) or deleted (`undefined`) by this request. */
  readonly changes = new Map<string, JsonValue | undefined>();
  /** Keys the request read before changing them, with the stored value it saw. */
  private readonly readValues = new Map<string, JsonValue | undefined>();
  /** Functional updates per key, in order, to apply to the latest stored value when saving. */
  private readonly keyUpdates = new Map<string, KeyUpdate[]>();
  /** The handler cleared the data: the stored object is replaced, not merged. */
  replaced = false;
  /** The session was ended by this request (logout, revocation). */
  ended = false;
  /** The guard refused the request: nothing is saved, the cookies it set aside go out as they are. */
  refused = false;
  /** The response is on its way: the session was saved, and later changes are not. */
  committed = false;
  cookie: CookieAction = null;
  /** Set when the cookie pointed at a session that must not be used (expired, obsolete). */
  denial: SessionDenial | null = null;
  /**
   * A CSRF secret made in this request for a session that has none yet: the session is then
   * stored even without data, so the token handed out can be verified later.
   */
  pendingCsrfSecret: Buffer | null = null;
  /**
   * The visitor's pre-session (no session stored yet): from its cookie, or issued when it asked
   * for a CSRF token. A session stored for the visitor takes over its CSRF secret.
   */
  preSession: PreSession | null = null;
  /** The key pre-sessions are issued with; `null` while it is not loaded. */
  serverKey: Buffer | null = null;
  /** The remember-me cookie to set or clear on the response. */
  rememberMeCookie: RememberMeCookieAction = null;
  /**
   * The remember-me credentials the client holds: those of the well-formed cookie the request
   * carried, or those this response sets. Only a holder of the validator may forget the device.
   */
  rememberMe: { selector: string; validator: string } | null = null;
  /** A CSRF token was handed out: the response varies by cookie and must not be cached. */
  csrfIssued = false;
  /** The request's provenance headers were checked: the response varies by them. */
  csrfChecked = false;
  /** Whether the rules asked for a touch or a rotation when the session was loaded. */
  touchDue = false;
  rotationDue = false;

  private clientInfo: ClientInfo | null = null;

  constructor(
    readonly loadedAt: Date,
    /** Reads the client's address and user agent; most requests never need them. */
    private readonly readClient: () => ClientInfo,
    /** Whether the request carried a cookie of ours at all (a clearing cookie is then useful). */
    readonly cookieSent: boolean,
  ) {}

  /** The client's address (as the platform's trust-proxy setting gives it) and user agent. */
  get client(): ClientInfo {
    return (this.clientInfo ??= this.readClient());
  }

  /** The value the session cookie carries: the session's token, else the pre-session. */
  get cookieValue(): string | null {
    return this.token ?? this.preSession?.value ?? null;
  }

  /**
   * Gives the visitor a pre-session, or renews the one it has (same CSRF secret, a new
   * issue time), and sets it in the cookie. Nothing is stored.
   */
  holdPreSession(key: Buffer): PreSession {
    this.preSession = this.preSession
      ? renewPreSession(key, this.preSession, this.loadedAt)
      : issuePreSession(key, this.loadedAt);
    this.cookie = 'set';
    return this.preSession;
  }

  /** The data as the handler sees it; made from the stored row when first used (many requests never do). */
  get data(): Map<string, JsonValue> {
    return (this.dataMap ??= new Map(this.record ? Object.entries(this.record.data) : []));
  }

  /**
   * Makes `record`, reached by `token`, this request's session. With `keepChanges`, what the
   * handler changed so far is applied on top of the adopted data (and still to be written).
   */
  adopt(token: string, record: SessionRecord, keepChanges = false): void {
    const pending = keepChanges ? new Map(this.changes) : null;
    const replaced = keepChanges && this.replaced;
    this.dataMap = replaced ? new Map(this.data) : null;
    this.token = token;
    this.record = record;
    this.ended = false;
    this.changes.clear();
    this.replaced = replaced;
    if (!pending) {
      this.readValues.clear();
      this.keyUpdates.clear();
      return;
    }
    for (const [key, value] of pending) {
      if (value === undefined) this.data.delete(key);
      else this.data.set(key, value);
      this.changes.set(key, value);
    }
  }

  /** The handler read `key`: a later plain `set` of it is saved only if nobody changed it. */
  noteRead(key: string): void {
    if (this.changes.has(key) || this.readValues.has(key)) return;
    this.readValues.set(key, storedValue(this.record, key));
  }

  /** Whether this request set or deleted `key` plainly (not with `update`). */
  changedPlainly(key: string): boolean {
    return this.changes.has(key) && !this.keyUpdates.has(key);
  }

  /**
   * The handler changed `key` with `update`, starting from the stored value: `update` is
   * re-applied to the latest stored value when saving. (An update of a value the request set
   * plainly builds on its own value and is not recorded.)
   */
  noteUpdate(key: string, update: KeyUpdate): void {
    const chain = this.keyUpdates.get(key) ?? [];
    chain.push(update);
    this.keyUpdates.set(key, chain);
  }

  /** The handler set or deleted `key` plainly: earlier functional updates of it are moot. */
  notePlainWrite(key: string): void {
    this.keyUpdates.delete(key);
  }

  /**
   * The keys whose stored values this request's write depends on: the base of each functional
   * update, and each key read and then set. `null` when the write depends on none (a plain
   * merge, as most writes are) or replaces the whole data.
   */
  dataGuard(): DataGuard | null {
    if (this.replaced) return null;
    const guarded = new Map<string, JsonValue | undefined>();
    for (const key of this.keyUpdates.keys()) guarded.set(key, storedValue(this.record, key));
    for (const [key, seen] of this.readValues) {
      if (this.changes.has(key) && !this.keyUpdates.has(key)) guarded.set(key, seen);
    }
    if (guarded.size === 0) return null;
    const expected: Record<string, JsonValue> = {};
    for (const [key, value] of guarded) if (value !== undefined) expected[key] = value;
    return { keys: [...guarded.keys()], expected };
  }

  /** The keys read and then set whose stored value in `record` is no longer what was read. */
  conflictsWith(record: SessionRecord): string[] {
    return [...this.readValues]
      .filter(([key]) => this.changes.has(key) && !this.keyUpdates.has(key))
      .filter(([key, seen]) => !sameJson(storedValue(record, key), seen))
      .map(([key]) => key);
  }

  /**
   * Applies the functional updates again, each chain to the value `record` (just adopted) holds;
   * `check` validates each new value before it is kept.
   */
  reapplyUpdates(check: (key: string, value: JsonValue) => void): void {
    for (const [key, chain] of this.keyUpdates) {
      const value = chain.reduce<JsonValue | undefined>(
        (current, update) => update(current),
        storedValue(this.record, key),
      );
      if (value === undefined) this.data.delete(key);
      else {
        check(key, value);
        this.data.set(key, value);
      }
      this.changes.set(key, value);
    }
  }

  /** Forgets the session (after logout or denial): the request goes on anonymous. */
  reset(): void {
    this.token = null;
    this.record = null;
    this.dataMap = null;
    this.changes.clear();
    this.readValues.clear();
    this.keyUpdates.clear();
    this.replaced = false;
    this.touchDue = false;
    this.rotationDue = false;
    this.pendingCsrfSecret = null;
    this.preSession = null;
  }

  /** The request's session was ended (logout, revocation): nothing more is written, the cookie goes. */
  end(): void {
    this.reset();
    this.ended = true;
    this.cookie = 'clear';
  }

  get hasChanges(): boolean {
    return this.replaced || this.changes.size > 0;
  }

  /** The pending change as a storage-level data change. */
  pendingChange(): DataChange {
    if (this.replaced) return { replace: true, set: Object.fromEntries(this.data), remove: [] };
    const changes = [...this.changes];
    // Object.fromEntries defines keys such as "__proto__" as own data, where `set[key] =` would not.
    return {
      replace: false,
      set: Object.fromEntries(changes.filter(([, value]) => value !== undefined)) as Record<
        string,
        JsonValue
      >,
      remove: changes.filter(([, value]) => value === undefined).map(([key]) => key),
    };
  }

  /** The whole data object as the handler sees it. */
  snapshot(): Record<string, JsonValue> {
    return Object.fromEntries(this.data);
  }

  /** After a write: the stored row now matches what the handler sees. */
  markPersisted(record: SessionRecord): void {
    this.record = record;
    this.changes.clear();
    this.readValues.clear();
    this.keyUpdates.clear();
    this.replaced = false;
    this.pendingCsrfSecret = null;
  }
}
