import { RequestContext } from './context';
import { Simulation } from './regeneration';
import { assess, obsoleteUse } from './rules';
import { deleteDevices, MAX_HOPS, revokeRows, Row, Store } from './store';

/*
 * Loading a request's session from its cookie: strict mode (only stored IDs count), expiry from
 * the stored time-stamps, and what an old ID gets (README, "What an old ID gets").
 */

/** The row a token reaches, as one SELECT reads it (a copy: the store may change after). */
export function readRow(store: Store, token: string): Row | null {
  const row = store.rows[token];
  return row ? structuredClone(row) : null;
}

/**
 * Strict mode, expiry, and the rules for an obsolete ID (forward, anonymous, attack), decided
 * on `row` as read; successors are read when followed.
 */
export function admit(sim: Simulation, ctx: RequestContext, row: Row, hop: number): void {
  const { store } = sim;
  const verdict = assess(row, store.now);
  if (verdict.state === 'active') {
    // The successor's own token came back: from now on its old ID is served only in flight.
    const stored = store.rows[row.token];
    if (hop === 0 && stored && stored.presentedAt === null) stored.presentedAt = store.now;
    ctx.admit(row, verdict);
    return;
  }
  ctx.cookie = 'clear';
  if (verdict.state === 'revoked') return ctx.deny('session_revoked');
  if (verdict.state === 'expired') {
    delete store.rows[row.token];
    return ctx.deny(
      verdict.reason === 'idle' ? 'session_idle_expired' : 'session_absolute_expired',
    );
  }
  const successor = row.successor === null ? null : readRow(store, row.successor);
  let use = obsoleteUse(row.obsoletedAt!, row.obsoletedBy, null, store.now);
  if (use === 'forward') {
    if (!successor || hop >= MAX_HOPS) return ctx.deny('session_ended');
    use = obsoleteUse(row.obsoletedAt!, row.obsoletedBy, successor.presentedAt, store.now);
  }
  if (use === 'attack') return attackResponse(store, ctx, row);
  if (use === 'anonymous') return;
  admit(sim, ctx, successor!, hop + 1);
  if (ctx.row) ctx.cookie = 'set';
}

/**
 * An old ID after grace (or after the leeway): 401 `session_obsolete`, and every session and
 * remember-me token of the user it stands for (for a pre-login ID, its successor's user) ends.
 */
function attackResponse(store: Store, ctx: RequestContext, row: Row): void {
  const userId = userBehind(store, row);
  if (userId !== null) {
    deleteDevices(store, userId, () => true);
    revokeRows(store, userId, () => true);
    deleteDevices(store, userId, () => true);
    // A planted pre-login ID belongs to no user: deleted, so it fires once.
    if (row.userId === null) delete store.rows[row.token];
  }
  ctx.deny('session_obsolete');
}

function userBehind(store: Store, row: Row): string | null {
  let current: Row | undefined = row;
  for (let hop = 0; current && hop <= MAX_HOPS; hop++) {
    if (current.userId !== null) return current.userId;
    current = current.successor === null ? undefined : store.rows[current.successor];
  }
  return null;
}
