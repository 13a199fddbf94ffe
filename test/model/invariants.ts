import { TIMINGS } from './config';
import type { StepRecord } from './driver';
import { canonicalJson } from './reference/matching';
import { StoredRow, tokenHash } from './reference/store-view';

/*
 * Safety properties checked after every step, apart from the model: they read only the
 * answers, the stored rows and the events, so a defect the model shares with the package
 * still shows up here.
 */

export class InvariantViolation extends Error {
  override name = 'InvariantViolation';
}

/** What a token was given when it was issued: its user and when that user last signed in. */
interface Rights {
  userId: string | null;
  authenticatedAt: number | null;
  handle: string;
}

/** What the acknowledged writes of one login require of its data. */
interface Acknowledged {
  /** Per key, the values one of which must be stored (several when written in parallel). */
  values: Map<string, Set<string>>;
  /** Items appended to `cart`, each of which must be in it. */
  items: Set<string>;
}

const CHANGES_RIGHTS = new Set(['login', 'password']);
const WRITES = new Set(['writePublic', 'writePrivate', 'append']);

const isLive = (row: StoredRow) => row.obsoletedAt === null && row.revokedAt === null;

export class Invariants {
  private readonly rights = new Map<string, Rights>();
  /** Remember-me cookie value → the user of its device. */
  private readonly rememberedUsers = new Map<string, string>();
  /** Every token, remember-me cookie and validator handed out: none may be in an event. */
  private readonly secrets = new Set<string>();
  /** Handles that had no live session at the end of a step: they never come back. */
  private readonly endedHandles = new Set<string>();
  private readonly acknowledged = new Map<string, Acknowledged>();
  /** Values of writes answered with an error: they must be stored nowhere. */
  private readonly refused = new Set<string>();

  check(record: StepRecord): void {
    const problems: string[] = [];
    const byHash = new Map(record.snapshot.rows.map((row) => [row.hash, row]));
    this.learn(record, byHash);
    record.answers.forEach((answer, index) => {
      const { request, who } = record.sent[index];
      const label = `${who}'s request`;
      if (answer.status >= 500) problems.push(`${label} got ${answer.status}`);
      problems.push(...this.checkRights(record, index, label));
      const reached = this.reachedHandle(record, index);
      if (answer.status < 400 && reached && this.endedHandles.has(reached)) {
        problems.push(`${label} was served with the login ${reached}, which had ended`);
      }
      if (request.route === 'sessions' && answer.status === 200) {
        problems.push(...this.checkDeviceList(record, answer.body, reached, label));
      }
      // A write answered 200 went to the session whose cookie the answer leaves the browser.
      if (WRITES.has(request.route) && answer.status < 400 && !this.reachedToken(record, index)) {
        problems.push(`${label}: a write was acknowledged with no session to hold it`);
      }
    });
    this.acknowledge(record);
    problems.push(...this.checkStore(record));
    problems.push(...this.checkEvents(record));
    this.noteEnded(record);
    if (problems.length > 0) throw new InvariantViolation(problems.join('\n'));
  }

  /** The rights of the tokens and remember-me cookies handed out in this step. */
  private learn(record: StepRecord, byHash: Map<string, StoredRow>): void {
    for (const answer of record.answers) {
      if (typeof answer.cookie === 'string' && answer.cookie !== 'clear') {
        this.secrets.add(answer.cookie);
        const row = byHash.get(tokenHash(answer.cookie));
        if (row && !this.rights.has(answer.cookie)) {
          this.rights.set(answer.cookie, {
            userId: row.userId,
            authenticatedAt: row.authenticatedAt,
            handle: row.handle,
          });
        }
      }
      if (typeof answer.remember === 'string' && answer.remember !== 'clear') {
        const [selector, validator] = answer.remember.split('.');
        this.secrets.add(answer.remember).add(validator);
        const device = record.snapshot.devices.find((stored) => stored.selector === selector);
        if (device) this.rememberedUsers.set(answer.remember, device.userId);
      }
    }
  }

  /** The token whose session the answer came from: the one it set, else the one presented. */
  private reachedToken(record: StepRecord, index: number): string | null {
    const answer = record.answers[index];
    if (typeof answer.cookie === 'string' && answer.cookie !== 'clear') return answer.cookie;
    return answer.cookie === 'clear' ? null : record.sent[index].request.token;
  }

  private reachedHandle(record: StepRecord, index: number): string | null {
    const body = record.answers[index].body as { handle?: unknown } | null;
    if (body && typeof body.handle === 'string') return body.handle;
    const token = this.reachedToken(record, index);
    return token ? (this.rights.get(token)?.handle ?? null) : null;
  }

  /**
   * No token reaches a session with more rights than it had: another user, or a fresher
   * sign-in. A sign-in or password change proves the user (its rights may rise), and a
   * remember-me cookie brings its device's user back, not freshly signed in.
   */
  private checkRights(record: StepRecord, index: number, label: string): string[] {
    const { request } = record.sent[index];
    const answer = record.answers[index];
    if (CHANGES_RIGHTS.has(request.route) || answer.status >= 400) return [];
    const presented = (request.token && this.rights.get(request.token)) || {
      userId: null,
      authenticatedAt: null,
    };
    const remembered = request.remember ? this.rememberedUsers.get(request.remember) : undefined;
    const allowed = (userId: string | null, authenticatedAt: number | null) =>
      userId === null ||
      (userId === presented.userId &&
        (authenticatedAt ?? -Infinity) <= (presented.authenticatedAt ?? -Infinity)) ||
      (userId === remembered && authenticatedAt === null);
    const problems: string[] = [];
    const reached = this.reachedToken(record, index);
    const rights = reached ? this.rights.get(reached) : undefined;
    if (rights && !allowed(rights.userId, rights.authenticatedAt)) {
      problems.push(
        `${label} with a token of ${presented.userId ?? 'no one'} reached a session of ${rights.userId} signed in at ${rights.authenticatedAt}`,
      );
    }
    const shown = (answer.body as { userId?: unknown } | null)?.userId;
    if (typeof shown === 'string' && shown !== presented.userId && shown !== remembered) {
      problems.push(
        `${label} with a token of ${presented.userId ?? 'no one'} was shown ${shown}'s session`,
      );
    }
    return problems;
  }

  /**
   * Exactly one entry of a device list is the caller's own; none when the caller's session
   * ended while the request ran (a logout in parallel).
   */
  private checkDeviceList(
    record: StepRecord,
    body: unknown,
    reached: string | null,
    label: string,
  ): string[] {
    const current = (body as { current: boolean; handle: string }[]).filter(
      (entry) => entry.current,
    );
    const stillLive = record.snapshot.rows.some(
      (row) => row.handle === reached && isLive(row) && row.expiresAt > record.now,
    );
    if (current.length > 1 || (current.length === 0 && stillLive)) {
      return [`${label}: ${current.length} device entries are current, not one`];
    }
    if (current.length === 1 && reached && current[0].handle !== reached) {
      return [`${label}: the current entry is ${current[0].handle}, not ${reached}`];
    }
    return [];
  }

  /** Records which writes were acknowledged (and on which login) and which were refused. */
  private acknowledge(record: StepRecord): void {
    const writtenNow = new Map<string, Map<string, Set<string>>>();
    record.answers.forEach((answer, index) => {
      const { request } = record.sent[index];
      if (!WRITES.has(request.route)) return;
      const value = request.value ?? request.item!;
      if (answer.status >= 400) return void this.refused.add(value);
      const handle = this.reachedHandle(record, index);
      if (!handle) return;
      const acknowledged = this.acknowledgedOf(handle);
      if (request.route === 'append') acknowledged.items.add(value);
      else {
        const keys = writtenNow.get(handle) ?? new Map<string, Set<string>>();
        writtenNow.set(handle, keys);
        keys.set(request.key!, (keys.get(request.key!) ?? new Set()).add(value));
      }
    });
    for (const [handle, keys] of writtenNow) {
      for (const [key, values] of keys) this.acknowledgedOf(handle).values.set(key, values);
    }
  }

  private acknowledgedOf(handle: string): Acknowledged {
    let acknowledged = this.acknowledged.get(handle);
    if (!acknowledged) {
      acknowledged = { values: new Map(), items: new Set() };
      this.acknowledged.set(handle, acknowledged);
    }
    return acknowledged;
  }

  private checkStore(record: StepRecord): string[] {
    const problems: string[] = [];
    const now = record.now;
    const liveByHandle = new Map<string, StoredRow[]>();
    const activeByUser = new Map<string, number>();
    for (const row of record.snapshot.rows) {
      const data = canonicalJson(row.data);
      for (const value of this.refused) {
        if (data.includes(`"${value}"`)) problems.push(`the refused write ${value} is stored`);
      }
      if (!isLive(row)) continue;
      liveByHandle.set(row.handle, [...(liveByHandle.get(row.handle) ?? []), row]);
      if (row.userId !== null && row.expiresAt > now) {
        activeByUser.set(row.userId, (activeByUser.get(row.userId) ?? 0) + 1);
      }
    }
    for (const [handle, rows] of liveByHandle) {
      if (rows.length > 1) problems.push(`login ${handle} has ${rows.length} live sessions`);
      const active = rows.filter((row) => row.expiresAt > now);
      if (active.length > 0 && this.endedHandles.has(handle)) {
        problems.push(`login ${handle} ended and has a live session again`);
      }
      const acknowledged = this.acknowledged.get(handle);
      if (!acknowledged || active.length !== 1) continue;
      const data = active[0].data as Record<string, unknown>;
      for (const [key, values] of acknowledged.values) {
        if (!values.has(data[key] as string)) {
          problems.push(
            `login ${handle}: ${key} is ${canonicalJson(data[key])}, acknowledged ${[...values].join(' or ')}`,
          );
        }
      }
      const cart = Array.isArray(data.cart) ? data.cart : [];
      for (const item of acknowledged.items) {
        if (cart.includes(item)) continue;
        problems.push(`login ${handle}: acknowledged item ${item} is lost`);
      }
    }
    for (const [userId, count] of activeByUser) {
      if (count > TIMINGS.maxSessionsPerUser) {
        problems.push(
          `${userId} has ${count} active sessions (limit ${TIMINGS.maxSessionsPerUser})`,
        );
      }
    }
    return problems;
  }

  /** Handles with no live session now never get one again. */
  private noteEnded(record: StepRecord): void {
    const live = new Set(
      record.snapshot.rows
        .filter((row) => isLive(row) && row.expiresAt > record.now)
        .map((row) => row.handle),
    );
    const handles = [
      ...record.snapshot.rows.map((row) => row.handle),
      ...this.acknowledged.keys(),
      ...[...this.rights.values()].map((rights) => rights.handle),
    ];
    for (const handle of handles) if (!live.has(handle)) this.endedHandles.add(handle);
  }

  /** No event carries a token, remember-me cookie or validator. */
  private checkEvents(record: StepRecord): string[] {
    return this.secretsIn(record.events.map((event) => JSON.stringify(event)));
  }

  /** At the end of a program: every event of the run against every secret handed out. */
  checkAllEvents(events: unknown[]): void {
    const problems = this.secretsIn(events.map((event) => JSON.stringify(event)));
    if (problems.length > 0) throw new InvariantViolation(problems.join('\n'));
  }

  private secretsIn(serialized: string[]): string[] {
    const problems: string[] = [];
    for (const text of serialized) {
      const carried = [...this.secrets].filter((secret) => text.includes(secret));
      if (carried.length > 0) problems.push(`an event carries a secret: ${text.slice(0, 200)}`);
    }
    return problems;
  }
}
