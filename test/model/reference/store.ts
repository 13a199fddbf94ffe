import { TIMINGS } from '../config';
import { assess, expiresAt, Purpose } from './rules';

/*
 * The model's picture of what the package stores: session rows (one per token ever issued and
 * not yet deleted) and remember-me tokens, and the clock. Chains are rows linked by
 * `successor`; a login (a device entry) is the set of rows sharing a `handle`.
 *
 * Identifiers are the real values once a response or the store has shown them (cookie values,
 * handles, selectors, validators); before that, a name made up by the model: `?…` while a
 * request is being simulated, `~…` for one no response ever carried.
 */

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type Data = Record<string, Json>;

export interface Row {
  token: string;
  handle: string;
  userId: string | null;
  data: Data;
  createdAt: number;
  authenticatedAt: number | null;
  lastSeenAt: number;
  rotatedAt: number;
  presentedAt: number | null;
  obsoletedAt: number | null;
  obsoletedBy: Purpose | null;
  successor: string | null;
  revokedAt: number | null;
  /** The remembered device (its handle) a restored session comes from. */
  rememberMeHandle: string | null;
}

/** A remember-me token ("device"): selector, current validator, the one replaced last. */
export interface Device {
  selector: string;
  handle: string;
  userId: string;
  validator: string;
  previous: string | null;
  rotatedAt: number | null;
  createdAt: number;
  lastUsedAt: number;
  expiresAt: number;
}

export interface Store {
  now: number;
  rows: Record<string, Row>;
  devices: Record<string, Device>;
}

/** Whether an identifier is a real value (a cookie, handle, selector or validator). */
export function isReal(id: string): boolean {
  return !id.startsWith('?') && !id.startsWith('~');
}

export function cloneStore(store: Store): Store {
  return structuredClone(store);
}

/** Neither replaced nor revoked: a row a write or regeneration may still change. */
export function isLive(row: Row): boolean {
  return row.obsoletedAt === null && row.revokedAt === null;
}

/** The user's sessions a device list shows: live and not past their stored expiry. */
export function activeOfUser(store: Store, userId: string): Row[] {
  return Object.values(store.rows)
    .filter((row) => row.userId === userId && isLive(row) && expiresAt(row) > store.now)
    .sort((a, b) => b.lastSeenAt - a.lastSeenAt);
}

/**
 * Revokes the user's rows that `matches` selects and that are not revoked yet (obsolete ones
 * included): data emptied, successor forgotten, kept for the retention. Returns them as they
 * were. Whole chains end, since every row of the scope is revoked at once.
 */
export function revokeRows(store: Store, userId: string, matches: (row: Row) => boolean): Row[] {
  const revoked: Row[] = [];
  for (const row of Object.values(store.rows)) {
    if (row.userId !== userId || row.revokedAt !== null || !matches(row)) continue;
    revoked.push(structuredClone(row));
    row.revokedAt = store.now;
    row.data = {};
    row.successor = null;
  }
  return revoked;
}

/** How many of the revoked rows were a session in use (not an obsolete ID). */
export function countActive(rows: Row[]): number {
  return rows.filter((row) => row.obsoletedAt === null).length;
}

/** Deletes the user's remember-me tokens that `matches` selects; how many. */
export function deleteDevices(
  store: Store,
  userId: string,
  matches: (device: Device) => boolean,
): number {
  let count = 0;
  for (const device of Object.values(store.devices)) {
    if (device.userId !== userId || !matches(device)) continue;
    delete store.devices[device.selector];
    count++;
  }
  return count;
}

/** Successors are followed at most this deep (as the package does). */
export const MAX_HOPS = 10;

/** Logout: deletes the row `token` reaches and every successor a regeneration gave it. */
export function deleteChainFrom(store: Store, token: string): void {
  const deletions = deleteChainSteps(store, token);
  while (!deletions.next().done);
}

/**
 * The same, one row per step, as the package deletes them (one statement each, the next row
 * found through the successor of the row just deleted, whatever became of it meanwhile): a
 * revocation may come between two steps and revoke the successor that the next one deletes.
 */
export function* deleteChainSteps(store: Store, token: string): Generator<void, void, void> {
  let row: Row | undefined = store.rows[token];
  delete store.rows[token];
  for (let hop = 0; row?.successor && hop < MAX_HOPS; hop++) {
    yield;
    const next: string = row.successor;
    row = store.rows[next];
    delete store.rows[next];
  }
}

/** Garbage collection: every row and remember-me token past its stored expiry. */
export function collectGarbage(store: Store): void {
  for (const row of Object.values(store.rows)) {
    if (expiresAt(row) <= store.now) delete store.rows[row.token];
  }
  for (const device of Object.values(store.devices)) {
    if (device.expiresAt <= store.now) delete store.devices[device.selector];
  }
}

/** Whether the row is a session in use right now (live and not expired). */
export function isActive(store: Store, row: Row): boolean {
  return assess(row, store.now).state === 'active';
}

/** Renames identifiers everywhere (placeholders to the values a response or the store showed). */
export function renameIds(store: Store, names: ReadonlyMap<string, string>): Store {
  if (names.size === 0) return store;
  const name = (id: string) => names.get(id) ?? id;
  const optional = (id: string | null) => (id === null ? null : name(id));
  const rows: Record<string, Row> = {};
  for (const row of Object.values(store.rows)) {
    const renamed = {
      ...row,
      token: name(row.token),
      handle: name(row.handle),
      successor: optional(row.successor),
      rememberMeHandle: optional(row.rememberMeHandle),
    };
    rows[renamed.token] = renamed;
  }
  const devices: Record<string, Device> = {};
  for (const device of Object.values(store.devices)) {
    const renamed = {
      ...device,
      selector: name(device.selector),
      handle: name(device.handle),
      validator: name(device.validator),
      previous: optional(device.previous),
    };
    devices[renamed.selector] = renamed;
  }
  return { now: store.now, rows, devices };
}

/** A remember-me token's lifetime restarts at every use. */
export function deviceExpiry(from: number): number {
  return from + TIMINGS.rememberMeLifetime;
}
