import { JsonValue } from '../core/json-value';
import { issuePreSession, PreSession, renewPreSession } from '../core/pre-session-token';
import { SessionRecord } from '../core/session-record';
import { DataChange } from '../storage/session.repository';
import { SessionDenialCode } from '../errors/session.exceptions';
import { EventRequestInfo } from '../events/session-event';
import { SessionUsageError } from '../core/errors';

/** Why the session the request pointed at cannot be used. */
export interface SessionDenial {
  code: SessionDenialCode;
  message: string;
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

/**
 * What a request did to its session's data so far; made at its first change, as most requests
 * make none (three maps a request measured as a share of the package's allocations). The maps
 * of reads and functional updates are made at their first entry: a plain `set` needs neither.
 */
class DataChanges {
  /** Keys written (value) or deleted (`undefined`) by this request. */
  readonly pending = new Map<string, JsonValue | undefined>();
  /** Keys the request read before changing them, with the stored value it saw. */
  readValues: Map<string, JsonValue | undefined> | null = null;
  /** Functional updates per key, in order, to apply to the latest stored value when saving. */
  keyUpdates: Map<string, KeyUpdate[]> | null = null;
}

/** Bytes of `"key":value` in the data's JSON. */
function entryBytes(key: string, value: JsonValue): number {
  return Buffer.byteLength(JSON.stringify(key)) + 1 + Buffer.byteLength(JSON.stringify(value));
}

/** Bytes of the JSON of an object of `count` entries whose `"key":value` take `entries` bytes. */
function objectBytes(count: number, entries: number): number {
  return count === 0 ? 2 : 2 + entries + count - 1;
}

/** The changes of a request that made none. */
const NO_CHANGES: ReadonlyMap<string, JsonValue | undefined> = new Map();

/** What the response must do with the session cookie. */
export type CookieAction = 'set' | 'clear' | null;

/** What the response must do with the remember-me cookie. */
export type RememberMeCookieAction = { set: string } | 'clear' | null;

/** The remember-me credentials a client holds: its cookie's selector and validator. */
interface HeldRememberMe {
  selector: string;
  validator: string;
}

/**
 * Everything the package knows about one request's session: the stored row (if any), the
 * token that reaches it, the data as the handler sees it and what changed. Internal: the
 * handler sees it through the {@link Session} facade.
 *
 * Its state is private and read through getters; it changes only through the operations
 * below, each saying what happened to the request's session (the loader admits or denies it,
 * the writer adopts what it stored, the revoker ends it, the response headers write it out).
 */
export class SessionContext {
  #token: string | null = null;
  #record: SessionRecord | null = null;
  private dataMap: Map<string, JsonValue> | null = null;
  /**
   * The bytes of `"key":value` of every entry of `dataMap`, once a `set` needed them (its size
   * check); `null` when not known (recomputed from the data then).
   */
  #entryBytes: number | null = null;
  #changes: DataChanges | null = null;
  #replaced = false;
  #ended = false;
  #refused = false;
  #saved = false;
  #cookie: CookieAction = null;
  #denial: SessionDenial | null = null;
  #pendingCsrfSecret: Buffer | null = null;
  #preSession: PreSession | null = null;
  #serverKey: Buffer | null;
  #rememberMeCookie: RememberMeCookieAction = null;
  #rememberMe: HeldRememberMe | null = null;
  #csrfIssued = false;
  #csrfChecked = false;
  #touchDue = false;
  #rotationDue = false;

  private clientInfo: EventRequestInfo | null = null;

  constructor(
    readonly loadedAt: Date,
    /** Reads the client's address and user agent; most requests never need them. */
    private readonly readClient: () => EventRequestInfo,
    /** Whether the request carried a cookie of ours at all (a clearing cookie is then useful). */
    readonly cookieSent: boolean,
    /** The key pre-sessions are issued with; `null` while it is not loaded. */
    serverKey: Buffer | null = null,
    /**
     * A WebSocket message's session: there is no response to carry a cookie, so nothing that
     * needs one (a new session, a new ID, a remember-me cookie) can happen.
     */
    readonly overSocket = false,
  ) {
    this.#serverKey = serverKey;
  }

  /**
   * Refuses `action` when it needs to set a cookie and the session came over a WebSocket:
   * the client would keep a token that no longer works, so it fails before anything is written.
   */
  requireCookieChannel(action: string): void {
    if (!this.overSocket) return;
    throw new SessionUsageError(
      `${action} needs a response that sets a cookie, and a WebSocket message has none: do it over HTTP (a REST route or a GraphQL mutation), then reconnect the socket.`,
    );
  }

  /** The token that reaches the request's session; `null` without one. */
  get token(): string | null {
    return this.#token;
  }

  /** The stored row of the request's session, as last read or written; `null` without one. */
  get record(): SessionRecord | null {
    return this.#record;
  }

  /** Keys written (value) or deleted (`undefined`) by this request. */
  get changes(): ReadonlyMap<string, JsonValue | undefined> {
    return this.#changes?.pending ?? NO_CHANGES;
  }

  /** The request's changes, made at the first one. */
  private get changing(): DataChanges {
    return (this.#changes ??= new DataChanges());
  }

  /** The handler cleared the data: the stored object is replaced, not merged. */
  get replaced(): boolean {
    return this.#replaced;
  }

  /** The session was ended by this request (logout, revocation): nothing more is written. */
  get ended(): boolean {
    return this.#ended;
  }

  /** The guard refused the request: nothing is saved, the cookies it set aside go out as they are. */
  get refused(): boolean {
    return this.#refused;
  }

  /** What the response must do with the session cookie. */
  get cookie(): CookieAction {
    return this.#cookie;
  }

  /** Set when the cookie pointed at a session that must not be used (expired, obsolete). */
  get denial(): SessionDenial | null {
    return this.#denial;
  }

  /**
   * A CSRF secret made in this request for a session that has none yet: the session is then
   * stored even without data, so the token handed out can be verified later.
   */
  get pendingCsrfSecret(): Buffer | null {
    return this.#pendingCsrfSecret;
  }

  /**
   * The visitor's pre-session (no session stored yet): from its cookie, or issued when it asked
   * for a CSRF token. A session stored for the visitor takes over its CSRF secret.
   */
  get preSession(): PreSession | null {
    return this.#preSession;
  }

  /** The key pre-sessions are issued with; `null` while it is not loaded. */
  get serverKey(): Buffer | null {
    return this.#serverKey;
  }

  /** The remember-me cookie to set or clear on the response. */
  get rememberMeCookie(): RememberMeCookieAction {
    return this.#rememberMeCookie;
  }

  /**
   * The remember-me credentials the client holds: those of the well-formed cookie the request
   * carried, or those this response sets. Only a holder of the validator may forget the device.
   */
  get rememberMe(): HeldRememberMe | null {
    return this.#rememberMe;
  }

  /** A CSRF token was handed out: the response varies by cookie and must not be cached. */
  get csrfIssued(): boolean {
    return this.#csrfIssued;
  }

  /** The request's provenance headers were checked: the response varies by them. */
  get csrfChecked(): boolean {
    return this.#csrfChecked;
  }

  /** Whether the rules asked for a touch of `last_seen_at` when the session was loaded. */
  get touchDue(): boolean {
    return this.#touchDue;
  }

  /** Whether the rules asked for a new ID (rotation interval) when the session was loaded. */
  get rotationDue(): boolean {
    return this.#rotationDue;
  }

  /** The client's address (as the platform's trust-proxy setting gives it) and user agent. */
  get client(): EventRequestInfo {
    return (this.clientInfo ??= this.readClient());
  }

  /** The value the session cookie carries: the session's token, else the pre-session. */
  get cookieValue(): string | null {
    return this.#token ?? this.#preSession?.value ?? null;
  }

  /** The server key was loaded after the request began (a visitor presented a pre-session). */
  useServerKey(key: Buffer): Buffer {
    return (this.#serverKey = key);
  }

  /**
   * Gives the visitor a pre-session, or renews the one it has (same CSRF secret, a new
   * issue time), and sets it in the cookie. Nothing is stored.
   */
  holdPreSession(key: Buffer): PreSession {
    this.requireCookieChannel('Issuing a CSRF token without a session');
    this.#preSession = this.#preSession
      ? renewPreSession(key, this.#preSession, this.loadedAt)
      : issuePreSession(key, this.loadedAt);
    this.#cookie = 'set';
    return this.#preSession;
  }

  /** The visitor's cookie carried a live pre-session the server issued: its CSRF secret counts. */
  admitPreSession(preSession: PreSession): void {
    this.#preSession = preSession;
  }

  /**
   * The cookie reached this live session: it becomes the request's, with the touch and rotation
   * the rules found due (done when the response is saved).
   */
  admit(
    token: string,
    record: SessionRecord,
    due: { touchDue: boolean; rotationDue: boolean },
  ): void {
    this.adopt(token, record);
    this.#touchDue = due.touchDue;
    this.#rotationDue = due.rotationDue;
  }

  /**
   * The session the cookie pointed at must not be used (revoked, expired, obsolete, a stolen
   * remember-me token): its cookie goes, and a route that needs a user answers with `denial`.
   */
  deny(denial: SessionDenial): void {
    this.#cookie = 'clear';
    this.#denial = denial;
  }

  /**
   * A remember-me restore gave the request a session after all: the denial of the session the
   * cookie pointed at (expired, say) no longer applies.
   */
  liftDenial(): void {
    this.#denial = null;
  }

  /** The cookie the request carried leads nowhere (unknown, malformed, expired): it goes. */
  clearCookie(): void {
    this.#cookie = 'clear';
  }

  /** The response must carry the session's token: a new one, or the successor forwarded to. */
  setCookie(): void {
    this.#cookie = 'set';
  }

  /**
   * The guard refused the request before its handler: nothing of the session is saved, and the
   * cookie actions decided so far have gone out with the refusal.
   */
  refuse(): void {
    this.#refused = true;
  }

  /**
   * The response is on its way and its session is saved now: `true` the first time for a request
   * the guard let through; `false` for a refused request and for every later call (the next chunk
   * of a streamed body), so a session is saved once.
   */
  startSave(): boolean {
    if (this.#refused || this.#saved) return false;
    this.#saved = true;
    return true;
  }

  /**
   * The response headers were written: the cookie actions and caching reasons they carried are
   * done, so a second write (a refusal after the guard ran, a later hook) repeats none of them.
   */
  responseWritten(): void {
    this.#cookie = null;
    this.#rememberMeCookie = null;
    this.#csrfIssued = false;
    this.#csrfChecked = false;
  }

  /** A CSRF token was handed out: the response belongs to this browser and must not be cached. */
  markCsrfIssued(): void {
    this.#csrfIssued = true;
  }

  /** The guard checked the request's Origin and Sec-Fetch-Site: the response varies by them. */
  markCsrfChecked(): void {
    this.#csrfChecked = true;
  }

  /**
   * A CSRF secret was made in this request for a session that has none (or none stored yet):
   * it is stored with the session, even one without data, so the token handed out stays valid.
   */
  keepNewCsrfSecret(secret: Buffer): void {
    this.#pendingCsrfSecret = secret;
  }

  /** The request carried a well-formed remember-me cookie: its holder may forget that device. */
  carryRememberMe(credentials: HeldRememberMe): void {
    this.#rememberMe = credentials;
  }

  /**
   * The client holds these remember-me credentials from this response on (issued, or the
   * validator rotated by a restore): `cookie` is the value the response sets.
   */
  holdRememberMe(credentials: HeldRememberMe, cookie: string): void {
    this.#rememberMe = credentials;
    this.#rememberMeCookie = { set: cookie };
  }

  /** The request carried a remember-me cookie that is no token of ours: it goes. */
  clearRememberMeCookie(): void {
    this.#rememberMeCookie = 'clear';
  }

  /**
   * The client's remember-me token is gone (deleted, expired, stolen, or the password changed):
   * its cookie is cleared when the client holds one, and its credentials prove nothing more.
   */
  forgetRememberMe(): void {
    if (this.#rememberMe) this.#rememberMeCookie = 'clear';
    this.#rememberMe = null;
  }

  /** The data as the handler sees it; made from the stored row when first used (many requests never do). */
  get data(): ReadonlyMap<string, JsonValue> {
    return this.values;
  }

  private get values(): Map<string, JsonValue> {
    return (this.dataMap ??= new Map(this.#record ? Object.entries(this.#record.data) : []));
  }

  /**
   * The handler set `key` to `value` when the data's JSON stays within `maxBytes`: the data then
   * holds `value`, to be written. Returns the size in bytes of the data as JSON with `value`;
   * over `maxBytes` the data is left as it is. The size is that of `JSON.stringify` of the data,
   * counted per entry: the whole data is serialised once per request, not at every `set`.
   */
  setValueWithin(key: string, value: JsonValue, maxBytes: number): number {
    const { size, entries } = this.measure(key, value);
    if (size > maxBytes) return size;
    this.setValue(key, value);
    this.#entryBytes = entries;
    return size;
  }

  /**
   * The data's JSON size, and its entries' bytes, if `key` held `value`: the first time in a
   * request from the JSON of the whole data (one serialisation, as many requests set one key),
   * then from the entries that change.
   */
  private measure(key: string, value: JsonValue): { size: number; entries: number } {
    const data = this.values;
    const previous = data.get(key);
    const count = data.size + (previous === undefined ? 1 : 0);
    const current = this.#entryBytes;
    if (current === null) {
      data.set(key, value);
      const size = Buffer.byteLength(JSON.stringify(Object.fromEntries(data)));
      if (previous === undefined) data.delete(key);
      else data.set(key, previous);
      return { size, entries: size - 2 - (count - 1) };
    }
    const entries =
      current - (previous === undefined ? 0 : entryBytes(key, previous)) + entryBytes(key, value);
    return { size: objectBytes(count, entries), entries };
  }

  /** The handler set `key`: the data holds `value`, to be written. */
  setValue(key: string, value: JsonValue): void {
    this.values.set(key, value);
    this.#entryBytes = null;
    this.changing.pending.set(key, value);
  }

  /** The handler deleted `key`: recorded as a deletion when the key was there; whether it was. */
  deleteValue(key: string): boolean {
    if (!this.values.delete(key)) return false;
    this.#entryBytes = null;
    this.changing.pending.set(key, undefined);
    return true;
  }

  /** The handler removed every key: the stored object is replaced, not merged, when written. */
  clearData(): void {
    this.values.clear();
    this.#entryBytes = null;
    this.#changes?.pending.clear();
    this.#replaced = true;
  }

  /**
   * Makes `record`, reached by `token`, this request's session. With `keepChanges`, what the
   * handler changed so far is applied on top of the adopted data (and still to be written).
   */
  adopt(token: string, record: SessionRecord, keepChanges = false): void {
    const replaced = keepChanges && this.#replaced;
    this.dataMap = replaced ? new Map(this.values) : null;
    this.#entryBytes = null;
    this.#token = token;
    this.#record = record;
    this.#ended = false;
    this.#replaced = replaced;
    if (!keepChanges) {
      this.#changes = null;
      return;
    }
    for (const [key, value] of this.changes) {
      if (value === undefined) this.values.delete(key);
      else this.values.set(key, value);
    }
  }

  /**
   * The session got a new ID in this request (regeneration): the successor, reached by `token`,
   * is the request's session, its cookie goes out, and the touch or rotation that was due is done.
   * `keepChanges`: the successor does not hold the request's changes yet (they are written next).
   */
  adoptSuccessor(token: string, successor: SessionRecord, keepChanges = false): void {
    this.adopt(token, successor, keepChanges);
    this.#cookie = 'set';
    this.#touchDue = false;
    this.#rotationDue = false;
  }

  /** The handler read `key`: a later plain `set` of it is saved only if nobody changed it. */
  noteRead(key: string): void {
    const changes = this.#changes;
    if (changes?.pending.has(key) || changes?.readValues?.has(key)) return;
    const { changing } = this;
    (changing.readValues ??= new Map()).set(key, storedValue(this.#record, key));
  }

  /** Whether this request set or deleted `key` plainly (not with `update`). */
  changedPlainly(key: string): boolean {
    const changes = this.#changes;
    return changes !== null && changes.pending.has(key) && !changes.keyUpdates?.has(key);
  }

  /**
   * The handler changed `key` with `update`, starting from the stored value: `update` is
   * re-applied to the latest stored value when saving. (An update of a value the request set
   * plainly builds on its own value and is not recorded.)
   */
  noteUpdate(key: string, update: KeyUpdate): void {
    const changes = this.changing;
    const keyUpdates = (changes.keyUpdates ??= new Map());
    const chain = keyUpdates.get(key) ?? [];
    chain.push(update);
    keyUpdates.set(key, chain);
  }

  /** The handler set or deleted `key` plainly: earlier functional updates of it are moot. */
  notePlainWrite(key: string): void {
    this.#changes?.keyUpdates?.delete(key);
  }

  /**
   * The keys whose stored values this request's write depends on: the base of each functional
   * update, and each key read and then set. `null` when the write depends on none (a plain
   * merge, as most writes are) or replaces the whole data.
   */
  dataGuard(): DataGuard | null {
    const changes = this.#changes;
    // A plain merge, as most writes are: nothing read or updated functionally.
    if (this.#replaced || !changes || (!changes.keyUpdates && !changes.readValues)) return null;
    const guarded = new Map<string, JsonValue | undefined>();
    for (const key of changes.keyUpdates?.keys() ?? []) {
      guarded.set(key, storedValue(this.#record, key));
    }
    for (const [key, seen] of changes.readValues ?? []) {
      if (this.changedPlainly(key)) guarded.set(key, seen);
    }
    if (guarded.size === 0) return null;
    const expected: Record<string, JsonValue> = {};
    for (const [key, value] of guarded) if (value !== undefined) expected[key] = value;
    return { keys: [...guarded.keys()], expected };
  }

  /** The keys read and then set whose stored value in `record` is no longer what was read. */
  conflictsWith(record: SessionRecord): string[] {
    return [...(this.#changes?.readValues ?? [])]
      .filter(([key]) => this.changedPlainly(key))
      .filter(([key, seen]) => !sameJson(storedValue(record, key), seen))
      .map(([key]) => key);
  }

  /**
   * Applies the functional updates again, each chain to the value `record` (just adopted) holds;
   * `check` validates each new value before it is kept.
   */
  reapplyUpdates(check: (key: string, value: JsonValue) => void): void {
    const changes = this.#changes;
    if (!changes?.keyUpdates) return;
    this.#entryBytes = null;
    for (const [key, chain] of changes.keyUpdates) {
      const value = chain.reduce<JsonValue | undefined>(
        (current, update) => update(current),
        storedValue(this.#record, key),
      );
      if (value === undefined) this.values.delete(key);
      else {
        check(key, value);
        this.values.set(key, value);
      }
      changes.pending.set(key, value);
    }
  }

  /** Forgets the session (after logout or denial): the request goes on anonymous. */
  reset(): void {
    this.#token = null;
    this.#record = null;
    this.dataMap = null;
    this.#entryBytes = null;
    this.#changes = null;
    this.#replaced = false;
    this.#touchDue = false;
    this.#rotationDue = false;
    this.#pendingCsrfSecret = null;
    this.#preSession = null;
  }

  /** The request's session was ended (logout, revocation): nothing more is written, the cookie goes. */
  end(): void {
    this.reset();
    this.#ended = true;
    this.#cookie = 'clear';
  }

  /**
   * The session ended before the handler ran (a restore undone by a concurrent revocation, a
   * user the app no longer finds): the request goes on as a visitor without one, whose writes
   * start a new session. Its cookie is cleared unless such a write sets a new one.
   */
  continueAnonymous(): void {
    this.reset();
    this.#ended = false;
    this.#cookie = 'clear';
  }

  /**
   * The request's session became a sign-in while the request ran (another request of the same
   * browser signed in): the request reaches nothing of it and writes nothing, and its response
   * leaves alone the cookie the sign-in just set.
   */
  yieldToSignIn(): void {
    this.reset();
    this.#ended = true;
    this.#cookie = null;
  }

  get hasChanges(): boolean {
    return this.#replaced || this.changes.size > 0;
  }

  /** The pending change as a storage-level data change. */
  pendingChange(): DataChange {
    if (this.#replaced) return { replace: true, set: Object.fromEntries(this.values), remove: [] };
    const set: [string, JsonValue][] = [];
    const remove: string[] = [];
    for (const [key, value] of this.changes) {
      if (value === undefined) remove.push(key);
      else set.push([key, value]);
    }
    // Object.fromEntries defines keys such as "__proto__" as own data, where `set[key] =` would not.
    return { replace: false, set: Object.fromEntries(set), remove };
  }

  /** The whole data object as the handler sees it. */
  snapshot(): Record<string, JsonValue> {
    return Object.fromEntries(this.values);
  }

  /** After a write: the stored row now matches what the handler sees. */
  markPersisted(record: SessionRecord): void {
    this.#record = record;
    this.#changes = null;
    this.#replaced = false;
    this.#pendingCsrfSecret = null;
  }
}
