import { Data, Json, Row } from './store';

/** A denial code or refusal the model predicts (the `code` of the response body). */
export class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
  ) {
    super(`${status} ${code}`);
  }
}

/** The remember-me credentials a request holds (from its cookie, or issued to it). */
export interface Held {
  selector: string;
  validator: string;
}

/** What a response does with a cookie: nothing, clear it, or set this value. */
export type CookieAction = null | 'clear' | { set: string };

/**
 * One request's view of its session while the model serves it: the row it reached (a copy, as
 * the package keeps what it loaded), the data as the handler sees it, what the handler changed,
 * and what the response will do with the cookies. The operations say what happened, as the
 * package's SessionContext does.
 */
export class RequestContext {
  token: string | null = null;
  row: Row | null = null;
  /** The data as the handler sees it. */
  values: Data = {};
  /** Keys the handler changed, with the value it saw. */
  readonly changes = new Map<string, Json>();
  /** Items appended to a key with a functional update: re-applied to the latest stored value. */
  readonly appends = new Map<string, string[]>();
  touchDue = false;
  rotationDue = false;
  denial: string | null = null;
  cookie: null | 'clear' | 'set' = null;
  ended = false;
  remember: Held | null = null;
  rememberCookie: CookieAction = null;

  constructor(
    readonly loadedAt: number,
    /** Whether the request carried a session cookie (a clearing cookie is only sent then). */
    readonly cookieSent: boolean,
  ) {}

  get hasChanges(): boolean {
    return this.changes.size > 0;
  }

  /** Makes `row` the request's session; `keepChanges` carries the handler's changes over. */
  adopt(row: Row, keepChanges: boolean): void {
    this.token = row.token;
    this.row = structuredClone(row);
    this.ended = false;
    this.values = structuredClone(row.data);
    if (!keepChanges) {
      this.changes.clear();
      this.appends.clear();
      return;
    }
    for (const [key, value] of this.changes) this.values[key] = structuredClone(value);
  }

  /** The cookie reached this live session, with the touch and rotation the rules found due. */
  admit(row: Row, due: { touchDue: boolean; rotationDue: boolean }): void {
    this.adopt(row, false);
    this.touchDue = due.touchDue;
    this.rotationDue = due.rotationDue;
  }

  /**
   * A regeneration in this request: the successor is the request's session and goes out.
   * `keepChanges`: the successor does not hold the handler's changes yet (written next).
   */
  adoptSuccessor(row: Row, keepChanges = false): void {
    this.adopt(row, keepChanges);
    if (keepChanges) this.reapplyUpdates();
    this.cookie = 'set';
    this.touchDue = false;
    this.rotationDue = false;
  }

  deny(code: string): void {
    this.cookie = 'clear';
    this.denial = code;
  }

  /** Forgets the session; the request goes on anonymous. */
  reset(): void {
    this.token = null;
    this.row = null;
    this.values = {};
    this.changes.clear();
    this.appends.clear();
    this.touchDue = false;
    this.rotationDue = false;
  }

  /** The request's session ended (logout, revocation, lost under a concurrent end). */
  end(): void {
    this.reset();
    this.ended = true;
    this.cookie = 'clear';
  }

  /**
   * The session became a sign-in while the request ran: it writes nothing (409 `session_busy`
   * when it had changes) and leaves the cookie the sign-in set alone.
   */
  yieldToSignIn(): void {
    const lost = this.hasChanges;
    this.reset();
    this.ended = true;
    this.cookie = null;
    if (lost) throw new Refusal(409, 'session_busy');
  }

  /** The session ended under the running request: nothing written, 401 when it had changes. */
  lose(): void {
    const lost = this.hasChanges;
    this.end();
    if (lost) throw new Refusal(401, 'session_ended');
  }

  set(key: string, value: Json): void {
    this.values[key] = value;
    this.changes.set(key, value);
    this.appends.delete(key);
  }

  /** `session.update(key, list => [...list, item])`; returns the list the handler sees. */
  append(key: string, item: string): Json[] {
    const current = this.values[key];
    const list = [...(Array.isArray(current) ? current : []), item];
    const onOwnValue = this.changes.has(key) && !this.appends.has(key);
    this.values[key] = list;
    this.changes.set(key, list);
    if (!onOwnValue) this.appends.set(key, [...(this.appends.get(key) ?? []), item]);
    return list;
  }

  /**
   * The data after writing the handler's changes onto `stored`: a key-level merge, where each
   * functional update is applied again to the value stored now (nothing acknowledged is lost).
   */
  applyTo(stored: Data): Data {
    const result = structuredClone(stored);
    for (const [key, value] of this.changes) {
      const items = this.appends.get(key);
      if (!items) {
        result[key] = structuredClone(value);
        continue;
      }
      const base = result[key];
      result[key] = [...(Array.isArray(base) ? base : []), ...items];
    }
    return result;
  }

  /** The functional updates computed again from the data of the session adopted last. */
  reapplyUpdates(): void {
    const data = this.applyTo(this.row?.data ?? {});
    for (const key of this.appends.keys()) {
      this.changes.set(key, data[key]);
      this.values[key] = structuredClone(data[key]);
    }
  }

  /** After a write: nothing is pending any more. */
  persisted(row: Row): void {
    this.row = structuredClone(row);
    this.changes.clear();
    this.appends.clear();
  }

  /** The request holds these remember-me credentials from now on, and the response sets them. */
  holdRemember(held: Held): void {
    this.remember = held;
    this.rememberCookie = { set: `${held.selector}.${held.validator}` };
  }

  /** The device's token is gone: its cookie is cleared when the request held one. */
  forgetRemember(): void {
    if (this.remember) this.rememberCookie = 'clear';
    this.remember = null;
  }
}
