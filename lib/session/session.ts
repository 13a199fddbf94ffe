import { assertJsonValue, JsonValue } from '../core/json-value';
import { SessionDataTooLargeException } from '../http/session.exceptions';
import { SessionContext } from './session-context';

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
 * @example
 * @Post('cart/items')
 * add(@CurrentSession() session: Session, @Body() item: CartItem) {
 *   session.set('cart', [...(session.get('cart') ?? []), item]);
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

  get<K extends keyof SessionDataShape<T> & string>(key: K): SessionDataShape<T>[K] | undefined {
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
    assertJsonValue(value, `session value "${key}"`);
    const data = this.context.data;
    const previous = data.get(key);
    data.set(key, value as JsonValue);
    const size = Buffer.byteLength(JSON.stringify(Object.fromEntries(data)));
    if (size > this.maxDataSize) {
      if (previous === undefined) data.delete(key);
      else data.set(key, previous);
      throw new SessionDataTooLargeException(size, this.maxDataSize);
    }
    this.context.changes.set(key, value as JsonValue);
  }

  delete(key: keyof SessionDataShape<T> & string): void {
    if (!this.context.data.delete(key)) return;
    this.context.changes.set(key, undefined);
  }

  /** Removes every key. */
  clear(): void {
    if (this.context.data.size === 0 && !this.context.record) return;
    this.context.data.clear();
    this.context.changes.clear();
    this.context.replaced = true;
  }

  /** The keys currently set. */
  keys(): string[] {
    return [...this.context.data.keys()];
  }
}
