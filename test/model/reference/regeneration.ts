import { TIMINGS } from '../config';
import { Refusal, RequestContext } from './context';
import { assess, crossesAuthentication, Purpose } from './rules';
import { activeOfUser, deleteDevices, MAX_HOPS, revokeRows, Row, Store } from './store';

/**
 * What a request's simulation may ask of the explorer: the store, a choice among outcomes the
 * rules leave open, and new identifiers (placeholders until a response shows the real value).
 */
export interface Simulation {
  store: Store;
  /** How many more points between the statements of one step may let another request in. */
  breaks: number;
  /** Whether this exploration is at a fine grain (it has breaks at all). */
  readonly fine: boolean;
  /** One of `count` possibilities (which of equally old sessions an eviction takes). */
  choose(count: number): number;
  /** A new token (`t`), handle (`h`), selector (`s`) or validator (`v`). */
  fresh(kind: 't' | 'h' | 's' | 'v'): string;
  /** The users whose sign-in transaction (eviction, then the new session) is open. */
  signingIn: Set<string>;
}

/**
 * Thrown by a request that would run where the package makes it wait for a lock another
 * request holds: the explorer drops the branch (the one where it runs once the lock is released
 * is explored too).
 */
export class WaitsForLock extends Error {}

/**
 * A piece of a request: it yields where another request may run in between: `gate` where the
 * test app's gate holds a request (the start of its handler), `step` anywhere else.
 */
export type Steps<T> = Generator<'step' | 'gate', T, void>;

/**
 * A point between two statements of one request where another request's statement may come.
 * Each such point costs the explorer a branch, so a simulation has a budget of them (`breaks`):
 * none at the coarse grain, then one, then two, until the answers are explained.
 */
export function* interleaving(sim: Simulation): Steps<void> {
  if (sim.breaks > 0 && sim.choose(2) === 1) {
    sim.breaks--;
    yield 'step';
  }
}

/**
 * A point between two statements where another request may come, free of the budget at the
 * fine grain and absent at the coarse one: one that every request of a kind meets (each of
 * several restores from one cookie, each pass of a revocation after the first), where a break
 * each would exhaust the fine grain's budget and a coarse step each its number of
 * interleavings.
 */
export function* fineInterleaving(sim: Simulation): Steps<void> {
  if (sim.fine) yield 'step';
}

export interface Plan {
  purpose: Purpose;
  /** The user of a sign-in or restore. */
  userId?: string;
  /** The remembered device a restore comes from. */
  rememberMeHandle?: string;
}

/** A sign-in or a restore starts a user's session; the others renew one. */
function startsLogin(plan: Plan): boolean {
  return plan.purpose === 'login' || plan.purpose === 'restore';
}

/**
 * Gives the request's session a new ID (or creates one when it has none): the old row becomes
 * obsolete with its purpose, the successor carries the data on. A sign-in of a user the session
 * does not already belong to first makes room under `maxSessionsPerUser` by revoking the least
 * recently used sessions (and forgetting their remembered devices).
 */
export function* regenerate(sim: Simulation, ctx: RequestContext, plan: Plan): Steps<void> {
  const userId = startsLogin(plan) ? plan.userId : undefined;
  // A sign-in of a user the session does not belong to adds a login: room is made first. A
  // re-authentication whose session ended under it starts a new one: a new login after all.
  const addsLogin = userId !== undefined && ctx.row?.userId !== userId;
  if (!addsLogin && regenerateOn(sim, ctx, plan) !== 'lost-sign-in') return;
  // The package serialises a user's sign-ins: this one waits for the open one to commit.
  if (sim.signingIn.has(userId!)) throw new WaitsForLock();
  const evicted = evictLeastRecentlyUsed(sim, userId!, TIMINGS.maxSessionsPerUser - 1);
  if (evicted.length === 0) return void regenerateOn(sim, ctx, plan);
  // The eviction and the new session are statements of one transaction (serialised per user),
  // and the others see the new session only once it commits: a revocation's pass that starts
  // in between finds the evicted rows revoked and not the new session (it survives the pass).
  sim.signingIn.add(userId!);
  yield* interleaving(sim);
  sim.signingIn.delete(userId!);
  regenerateOn(sim, ctx, plan);
  const devices = new Set<string>();
  for (const row of evicted) {
    devices.add(row.handle);
    if (row.rememberMeHandle) devices.add(row.rememberMeHandle);
  }
  // The device restoring right now keeps its token.
  if (plan.rememberMeHandle !== undefined) devices.delete(plan.rememberMeHandle);
  deleteDevices(sim.store, userId!, (device) => devices.has(device.handle));
}

/**
 * Revokes the user's active sessions beyond the `keep` most recently used. Sessions last seen
 * at the same moment have no order: which of them go is the explorer's choice.
 */
function evictLeastRecentlyUsed(sim: Simulation, userId: string, keep: number): Row[] {
  const targets = leastRecentlyUsed(sim, userId, keep);
  return revokeRows(sim.store, userId, (row) => targets.has(row.token));
}

/** The tokens of the user's active sessions beyond the `keep` most recently used. */
function leastRecentlyUsed(sim: Simulation, userId: string, keep: number): Set<string> {
  const active = activeOfUser(sim.store, userId);
  if (active.length <= keep) return new Set();
  const boundary = active[keep - 1]?.lastSeenAt ?? Infinity;
  const surely = active.filter((row) => row.lastSeenAt > boundary);
  const tied = active
    .filter((row) => row.lastSeenAt === boundary)
    .sort((a, b) => (a.token < b.token ? -1 : 1));
  const kept = new Set([...surely, ...chooseSubset(sim, tied, keep - surely.length)]);
  return new Set(active.filter((row) => !kept.has(row)).map((row) => row.token));
}

/** `size` of `items`, as the explorer chooses (every combination is a branch). */
function chooseSubset<T>(sim: Simulation, items: T[], size: number): T[] {
  const combinations: T[][] = [];
  const build = (start: number, picked: T[]) => {
    if (picked.length === size) return void combinations.push(picked);
    for (let index = start; index < items.length; index++)
      build(index + 1, [...picked, items[index]]);
  };
  build(0, []);
  return combinations[sim.choose(combinations.length)];
}

/**
 * Regenerates, retrying against concurrent regenerations. A sign-in that started from a session
 * of its own user (no login added, the limit not consulted) and finds it ended returns
 * `'lost-sign-in'` with its context reset, for `regenerate` to start it again under the limit;
 * one that already made room starts from no session here.
 */
function regenerateOn(sim: Simulation, ctx: RequestContext, plan: Plan): 'lost-sign-in' | void {
  const login = startsLogin(plan);
  const roomMade = login && ctx.row?.userId !== plan.userId;
  for (let attempt = 0; attempt < 10; attempt++) {
    const old = ctx.row;
    if (!old || !ctx.token) {
      return createSession(
        sim,
        ctx,
        login
          ? {
              userId: plan.userId!,
              interactive: plan.purpose === 'login',
              rememberMeHandle: plan.rememberMeHandle,
            }
          : { userId: null },
      );
    }
    if (tryRegenerate(sim, ctx, old, plan)) return;
    // Another request regenerated or ended the session first.
    const winner = continuation(sim.store, ctx.token);
    if (winner === null || winner === 'signed-in') {
      if (!login) return winner ? ctx.yieldToSignIn() : ctx.lose();
      // A sign-in starts afresh.
      ctx.reset();
      if (!roomMade) return 'lost-sign-in';
      continue;
    }
    ctx.adopt(winner, true);
    ctx.cookie = 'set';
    if (winnerFulfils(plan, winner, ctx.loadedAt)) return;
  }
  throw new Refusal(409, 'session_busy');
}

/** Whether the regeneration that won already did what `plan` asks. */
function winnerFulfils(plan: Plan, winner: Row, since: number): boolean {
  if (plan.purpose === 'restore') return winner.userId === plan.userId;
  if (plan.purpose !== 'login') return true;
  return (
    winner.userId === plan.userId &&
    winner.authenticatedAt !== null &&
    winner.authenticatedAt >= since
  );
}

/** Retires the live row and inserts its successor, atomically; false when it is not live. */
function tryRegenerate(sim: Simulation, ctx: RequestContext, old: Row, plan: Plan): boolean {
  const { store } = sim;
  const stored = store.rows[old.token];
  if (!stored || stored.obsoletedAt !== null || stored.revokedAt !== null) return false;
  const login = startsLogin(plan);
  const userId = login ? plan.userId! : old.userId;
  // Another user, or any restore, is a new entry in the device list.
  const newEntry = plan.purpose === 'restore' || (login && old.userId !== userId);
  // The data carries over, except into another user's session.
  const keepsData = !(login && old.userId !== null && old.userId !== userId);
  // Functional updates are not carried by the regeneration, which writes unguarded: the
  // successor starts from the data as stored, and the request writes them next, applied to it.
  const carried = keepsData && ctx.appends.size === 0;
  const successor: Row = {
    token: sim.fresh('t'),
    handle: newEntry ? sim.fresh('h') : old.handle,
    userId,
    data: carried ? ctx.applyTo(stored.data) : keepsData ? structuredClone(stored.data) : {},
    createdAt: stored.createdAt,
    authenticatedAt:
      plan.purpose === 'login'
        ? store.now
        : plan.purpose === 'restore'
          ? null
          : old.authenticatedAt,
    lastSeenAt: store.now,
    rotatedAt: store.now,
    presentedAt: null,
    obsoletedAt: null,
    obsoletedBy: null,
    successor: null,
    revokedAt: null,
    rememberMeHandle:
      plan.purpose === 'restore' ? (plan.rememberMeHandle ?? null) : old.rememberMeHandle,
  };
  stored.obsoletedAt = store.now;
  stored.obsoletedBy = plan.purpose;
  stored.successor = successor.token;
  stored.data = {};
  store.rows[successor.token] = successor;
  ctx.adoptSuccessor(successor, keepsData && !carried);
  return true;
}

/**
 * Where a request that loaded `token` goes on after a concurrent change: the live session at
 * the end of same-user regenerations within grace, `'signed-in'` across an authentication
 * boundary, `null` when the session ended.
 */
export function continuation(store: Store, token: string): Row | 'signed-in' | null {
  let row: Row | undefined = store.rows[token];
  for (let hop = 0; row && hop <= MAX_HOPS; hop++) {
    const verdict = assess(row, store.now);
    if (verdict.state === 'active') return row;
    if (verdict.state !== 'obsolete' || !verdict.withinGrace) return null;
    if (crossesAuthentication(row.obsoletedBy)) return 'signed-in';
    row = row.successor === null ? undefined : store.rows[row.successor];
  }
  return null;
}

interface Identity {
  userId: string | null;
  /** The user just proved who they are (sets `authenticatedAt`). */
  interactive?: boolean;
  rememberMeHandle?: string;
}

/** A new session with a new handle, from the data the handler sees. */
export function createSession(sim: Simulation, ctx: RequestContext, identity: Identity): void {
  const { store } = sim;
  const row: Row = {
    token: sim.fresh('t'),
    handle: sim.fresh('h'),
    userId: identity.userId,
    data: structuredClone(ctx.values),
    createdAt: store.now,
    authenticatedAt: identity.interactive ? store.now : null,
    lastSeenAt: store.now,
    rotatedAt: store.now,
    presentedAt: store.now,
    obsoletedAt: null,
    obsoletedBy: null,
    successor: null,
    revokedAt: null,
    rememberMeHandle: identity.rememberMeHandle ?? null,
  };
  store.rows[row.token] = row;
  ctx.adopt(row, false);
  ctx.cookie = 'set';
}
