import {
  assertJsonValue,
  assertSessionKey,
  isPlainJsonScalar,
  JsonValue,
  UnstorableSessionDataError,
} from '../core/json-value';
import {
  SessionDataInvalidException,
  SessionDataTooLargeException,
} from '../errors/session.exceptions';
import { KeyUpdate, SessionContext } from './session-context';

/**
 * The shape of session data. Augment it to type `session.get()` and `session.set()` everywhere:
 *
 * @example
 * declare module 'nest-session-security' {
 *   interface SessionData {
 *     cart: { sku: string; qty: number }[];
 *   }
 * }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface SessionData {}

/** `T` when it declares keys, else any string key with an unknown JSON value. */
export type SessionDataShape<T> = keyof T extends never ? Record<string, unknown> : T;

let readContext: (session: Session<object>) => SessionContext | undefined;

/** The internal state behind a session object. */
export function contextOf(session: Session<object>): SessionContext {
  const context = readContext(session);
  if (!context) throw new TypeError('not a session object of this package');
  return context;
}

/**
 * One request's session, as handlers see it (`@CurrentSession()`). Data is a JSON object
 * changed key by key; only changed keys are written, after the handler, in one statement.
 * A visitor whose session is never written gets no row and no cookie.
 *
 * Values are stored as given; mutating an object after `set` (or one returned by `get`) is not
 * tracked: call `set` again.
 *
 * Concurrent requests never lose each other's changes: changes of different keys merge; a key
 * changed with `update` is re-computed from the latest stored value when saved; a key this
 * request read with `get` and then `set` is saved only if nobody changed it meanwhile (else
 * 409 `session_conflict`, and nothing of the request is saved).
 *
 * @example
 * @Post('cart/items')
 * add(@CurrentSession() session: Session, @Body() item: CartItem) {
 *   session.update('cart', (cart) => [...(cart ?? []), item]);
 * }
 */
export class Session<T extends object = SessionData> {
  // A private field, not a property: handlers cannot reach the internal state.
  readonly #context: SessionContext;

  static {
    readContext = (session) => (#context in session ? session.#context : undefined);
  }

  constructor(
    context: SessionContext,
    private readonly maxDataSize: number,
  ) {
    this.#context = context;
  }

  private get context(): SessionContext {
    return this.#context;
  }

  /**
   * The session's ID as stored: hex SHA-256 of the token, safe to log. `undefined` until the
   * session is stored. The raw token is never exposed.
   */
  get id(): string | undefined {
    return this.context.record?.idHash.toString('hex');
  }

  /** Public identifier of this login, shown in device lists; stable across regenerations. */
  get handle(): string | undefined {
    return this.context.record?.handle;
  }

  /** The authenticated user's ID, or `null` for an anonymous session. */
  get userId(): string | null {
    return this.context.ended ? null : (this.context.record?.userId ?? null);
  }

  get isAuthenticated(): boolean {
    return this.userId !== null;
  }

  /** Whether no stored session exists yet (nothing was ever written). */
  get isNew(): boolean {
    return this.context.record === null;
  }

  get createdAt(): Date | undefined {
    return this.context.record?.createdAt;
  }

  get authenticatedAt(): Date | null {
    return this.context.record?.authenticatedAt ?? null;
  }

  get lastSeenAt(): Date | undefined {
    return this.context.record?.lastSeenAt;
  }

  /**
   * The value of `key`. A key read here and then `set` is saved only if no other request changed
   * it in between (409 `session_conflict` otherwise); use `update` for read-modify-write.
   */
  get<K extends keyof SessionDataShape<T> & string>(key: K): SessionDataShape<T>[K] | undefined {
    this.context.noteRead(key);
    return this.context.data.get(key) as SessionDataShape<T>[K] | undefined;
  }

  has(key: keyof SessionDataShape<T> & string): boolean {
    return this.context.data.has(key);
  }

  /**
   * Stores `value` under `key`. Throws a `SessionDataError` when the value is not plain JSON,
   * and a `SessionDataTooLargeException` (413) when the data would exceed `maxDataSize`;
   * in both cases the session is left unchanged.
   */
  set<K extends keyof SessionDataShape<T> & string>(key: K, value: SessionDataShape<T>[K]): void {
    this.write(key, value);
    this.context.notePlainWrite(key);
  }

  /**
   * Changes `key` from its current value: `change` gets the value (or `undefined`) and returns
   * the new one (`undefined` deletes the key). When the response is saved, `change` is applied
   * again to the latest stored value if another request changed the key meanwhile, so twelve
   * parallel "add an item" requests keep twelve items. `change` must be a pure function of its
   * argument (it may run more than once). Returns the new value.
   *
   * @example
   * session.update('cart', (cart) => [...(cart ?? []), item]);
   * session.update('visits', (visits) => (visits ?? 0) + 1);
   */
  update<K extends keyof SessionDataShape<T> & string>(
    key: K,
    change: (current: SessionDataShape<T>[K] | undefined) => SessionDataShape<T>[K] | undefined,
  ): SessionDataShape<T>[K] | undefined {
    const next = change(this.context.data.get(key) as SessionDataShape<T>[K] | undefined);
    const onOwnValue = this.context.changedPlainly(key);
    // Validated first: a refused value records nothing, so nothing is re-applied when saving.
    if (next === undefined) this.remove(key);
    else this.write(key, next);
    if (!onOwnValue) this.context.noteUpdate(key, change as KeyUpdate);
    return next;
  }

  /** Validates and stores one value, leaving the session unchanged when it is refused. */
  private write(key: string, value: unknown): void {
    assertStorable(key, value);
    const size = this.context.setValueWithin(key, value as JsonValue, this.maxDataSize);
    if (size > this.maxDataSize) throw new SessionDataTooLargeException(size, this.maxDataSize);
  }

  delete(key: keyof SessionDataShape<T> & string): void {
    this.remove(key);
    this.context.notePlainWrite(key);
  }

  private remove(key: string): void {
    this.context.deleteValue(key);
  }

  /** Removes every key. */
  clear(): void {
    if (this.context.data.size === 0 && !this.context.record) return;
    this.context.clearData();
  }

  /** The keys currently set. */
  keys(): string[] {
    return [...this.context.data.keys()];
  }
}

/**
 * Throws unless `value` may be stored under `key`: a value a client could have sent but the
 * store refuses (NUL, unpaired surrogates, too deep) is a 400 `session_data_invalid`; a value
 * that is not JSON at all (a `Date`, `undefined`, a cycle) is the application's bug and stays a
 * `SessionDataError`.
 */
export function assertStorable(key: string, value: unknown): void {
  try {
    assertSessionKey(key);
    if (!isPlainJsonScalar(value)) assertJsonValue(value, `session value ${JSON.stringify(key)}`);
  } catch (error) {
    if (error instanceof UnstorableSessionDataError) throw new SessionDataInvalidException(error);
    throw error;
  }
}
