import { createHash } from 'node:crypto';
import { hashToken } from 'nest-session-security';
import { canonicalJson, Names } from './matching';
import { expiresAt } from './rules';
import { isReal, renameIds, Store } from './store';

/*
 * The store as the package left it (read with SQL after each step) against the model's
 * picture of it. Rows are compared by everything the rules decide (owner, data, time-stamps,
 * obsolescence, revocation, presentation, the remembered device), so a divergence shows up at
 * the step that caused it rather than many steps later.
 */

/** A `session` row, times in milliseconds, hashes in hex. */
export interface StoredRow {
  hash: string;
  handle: string;
  userId: string | null;
  data: unknown;
  createdAt: number;
  authenticatedAt: number | null;
  lastSeenAt: number;
  rotatedAt: number;
  expiresAt: number;
  obsoletedAt: number | null;
  obsoletedBy: string | null;
  presentedAt: number | null;
  revokedAt: number | null;
  rememberMeHandle: string | null;
  hasSuccessor: boolean;
}

/** A `remember_me_token` row. */
export interface StoredDevice {
  selector: string;
  handle: string;
  userId: string;
  validatorHash: string;
  previousHash: string | null;
  rotatedAt: number | null;
  createdAt: number;
  lastUsedAt: number;
  expiresAt: number;
}

export interface StoreSnapshot {
  rows: StoredRow[];
  devices: StoredDevice[];
}

/** Hashes are asked for again and again while branches are compared: each is made once. */
const hashes = new Map<string, string>();

function remembered(value: string, hash: () => string): string {
  let known = hashes.get(value);
  if (known === undefined) {
    if (hashes.size > 100_000) hashes.clear();
    known = hash();
    hashes.set(value, known);
  }
  return known;
}

export function tokenHash(token: string): string {
  return remembered(`t:${token}`, () => hashToken(token).toString('hex'));
}

export function validatorHash(validator: string): string {
  return remembered(`v:${validator}`, () =>
    createHash('sha256').update(validator, 'ascii').digest('hex'),
  );
}

/**
 * The model's store with the handles of its rows named as the stored rows of the same tokens
 * show them; a string saying which token when the model put one in another login than the
 * package did.
 */
export function bindHandles(store: Store, snapshot: StoreSnapshot): Store | string {
  const known = Object.values(store.rows).flatMap((row) => [row.token, row.handle]);
  const names = new Names(new Set([...known, ...Object.keys(store.devices)].filter(isReal)));
  const byHash = new Map(snapshot.rows.map((row) => [row.hash, row]));
  for (const row of Object.values(store.rows)) {
    if (!isReal(row.token)) continue;
    const stored = byHash.get(tokenHash(row.token));
    if (stored && !names.bind(row.handle, stored.handle)) {
      return `the token ${row.token} is stored in login ${stored.handle}, the model has it in ${row.handle}`;
    }
  }
  return renameIds(store, names.bound);
}

const masked = (id: string | null, known: ReadonlySet<string>) =>
  id === null ? null : known.has(id) ? id : '?';

/** One line per row and token of the model, identifiers it does not know shown as `?`. */
export function modelLines(store: Store): string[] {
  const rows = Object.values(store.rows).map((row) =>
    canonicalJson({
      hash: isReal(row.token) ? tokenHash(row.token) : '?',
      handle: isReal(row.handle) ? row.handle : '?',
      userId: row.userId,
      data: row.data,
      createdAt: row.createdAt,
      authenticatedAt: row.authenticatedAt,
      lastSeenAt: row.lastSeenAt,
      rotatedAt: row.rotatedAt,
      expiresAt: expiresAt(row),
      obsoletedAt: row.obsoletedAt,
      obsoletedBy: row.obsoletedBy,
      presentedAt: row.presentedAt,
      revokedAt: row.revokedAt,
      rememberMeHandle:
        row.rememberMeHandle === null
          ? null
          : isReal(row.rememberMeHandle)
            ? row.rememberMeHandle
            : '?',
      hasSuccessor: row.successor !== null,
    }),
  );
  const devices = Object.values(store.devices).map((device) =>
    canonicalJson({
      selector: isReal(device.selector) ? device.selector : '?',
      handle: isReal(device.handle) ? device.handle : '?',
      userId: device.userId,
      validatorHash: isReal(device.validator) ? validatorHash(device.validator) : '?',
      previousHash:
        device.previous === null
          ? null
          : isReal(device.previous)
            ? validatorHash(device.previous)
            : '?',
      rotatedAt: device.rotatedAt,
      createdAt: device.createdAt,
      lastUsedAt: device.lastUsedAt,
      expiresAt: device.expiresAt,
    }),
  );
  return [
    ...rows.map((line) => `session ${line}`),
    ...devices.map((line) => `remember ${line}`),
  ].sort();
}

/** The same lines for the stored rows, as far as `store` (the model) knows their identifiers. */
export function storedLines(snapshot: StoreSnapshot, store: Store): string[] {
  const rows = Object.values(store.rows);
  const devices = Object.values(store.devices);
  const hashes = new Set(
    rows.filter((row) => isReal(row.token)).map((row) => tokenHash(row.token)),
  );
  const handles = new Set(
    [
      ...rows.flatMap((row) => [row.handle, row.rememberMeHandle ?? '']),
      ...devices.map((d) => d.handle),
    ].filter(isReal),
  );
  const selectors = new Set(devices.map((device) => device.selector).filter(isReal));
  const validators = new Set(
    devices
      .flatMap((device) => [device.validator, device.previous ?? ''])
      .filter((validator) => validator && isReal(validator))
      .map(validatorHash),
  );
  const sessionLines = snapshot.rows.map((row) =>
    canonicalJson({
      ...row,
      hash: masked(row.hash, hashes),
      handle: masked(row.handle, handles),
      rememberMeHandle: masked(row.rememberMeHandle, handles),
    }),
  );
  const deviceLines = snapshot.devices.map((device) =>
    canonicalJson({
      ...device,
      selector: masked(device.selector, selectors),
      handle: masked(device.handle, handles),
      validatorHash: masked(device.validatorHash, validators),
      previousHash: masked(device.previousHash, validators),
    }),
  );
  return [
    ...sessionLines.map((line) => `session ${line}`),
    ...deviceLines.map((line) => `remember ${line}`),
  ].sort();
}

/** The lines only one side has: `-` the model only, `+` the store only. */
export function difference(model: string[], stored: string[]): string[] {
  const left = [...stored];
  const onlyModel: string[] = [];
  for (const line of model) {
    const index = left.indexOf(line);
    if (index < 0) onlyModel.push(line);
    else left.splice(index, 1);
  }
  return [...onlyModel.map((line) => `- ${line}`), ...left.map((line) => `+ ${line}`)];
}
