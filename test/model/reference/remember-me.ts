import { Held, RequestContext } from './context';
import { interleaving, regenerate, Simulation, Steps } from './regeneration';
import { withinGrace } from './rules';
import { deleteChainFrom, deleteDevices, Device, deviceExpiry, revokeRows, Store } from './store';

/*
 * Remember me (README, "Remember me"): a restore starts a session from the cookie and rotates
 * the validator; a used or wrong validator is theft; a sign-in may issue a token.
 */

/** A restore's session, to be ended if its device is forgotten before the restore checks again. */
export interface RestoreCheck {
  selector: string;
}

/** A request without a signed-in session that carries a remember-me cookie. */
export function* restoreFromCookie(
  sim: Simulation,
  ctx: RequestContext,
  cookie: string,
): Steps<RestoreCheck | null> {
  const [selector, validator] = cookie.split('.');
  ctx.remember = { selector, validator };
  if (ctx.row?.userId) return null;
  // Remember-me never overrides a verdict about an attack.
  if (ctx.denial === 'session_obsolete' || ctx.denial === 'session_revoked') return null;
  const { store } = sim;
  // The token as one SELECT reads it: another request's restore or revocation may come between
  // this read and what the restore does with it.
  const read = store.devices[selector] ? structuredClone(store.devices[selector]) : null;
  yield* interleaving(sim);
  if (!read || read.expiresAt <= store.now) {
    if (read) delete store.devices[selector];
    ctx.forgetRemember();
    return null;
  }
  let current: string | null;
  if (validator === read.validator) {
    // One-time use: the rotation succeeds only while the validator is still the one read.
    const stored = store.devices[selector];
    if (!stored) {
      // Forgotten since it was read: as a token that no longer exists, not a theft.
      ctx.forgetRemember();
      return null;
    }
    if (stored.validator === validator) {
      current = sim.fresh('v');
      stored.previous = stored.validator;
      stored.validator = current;
      stored.rotatedAt = store.now;
      stored.lastUsedAt = store.now;
      stored.expiresAt = deviceExpiry(store.now);
    } else current = previousValidator(stored, validator, store.now);
  } else current = previousValidator(read, validator, store.now);
  if (current === null) {
    // A used or wrong validator: theft. Every token and session of the user ends.
    deleteDevices(store, read.userId, () => true);
    revokeRows(store, read.userId, () => true);
    deleteDevices(store, read.userId, () => true);
    ctx.reset();
    ctx.forgetRemember();
    ctx.deny('remember_me_theft');
    return null;
  }
  ctx.holdRemember({ selector, validator: current });
  yield* regenerate(sim, ctx, {
    purpose: 'restore',
    userId: read.userId,
    rememberMeHandle: read.handle,
  });
  return { selector };
}

/**
 * A revocation that forgot the device while the restore ran may have missed its new session:
 * the restore checks again and ends it, so nothing survives "sign out everywhere".
 */
export function endIfForgotten(store: Store, ctx: RequestContext, restored: RestoreCheck): void {
  if (store.devices[restored.selector]) {
    ctx.denial = null;
    return;
  }
  ctx.forgetRemember();
  // The request goes on anonymous: what its handler writes starts a session of its own.
  if (ctx.token) deleteChainFrom(store, ctx.token);
  ctx.reset();
  ctx.cookie = 'clear';
}

/**
 * The validator replaced last is still good for a grace period (a parallel request of the same
 * browser): the current one, with no alarm. `null` otherwise: a used or wrong validator.
 */
function previousValidator(device: Device, presented: string, now: number): string | null {
  const withinGracePeriod = device.rotatedAt !== null && withinGrace(device.rotatedAt, now);
  return withinGracePeriod && device.previous === presented ? device.validator : null;
}

/**
 * `RememberMeService.issue` after a sign-in. A revocation of the user may end the new session
 * meanwhile: the token is stored, then the session checked, and a token whose session was
 * revoked goes again (the request ends signed out), so no token outlives "sign out everywhere".
 */
export function* issueRememberMe(sim: Simulation, ctx: RequestContext): Steps<void> {
  const { store } = sim;
  yield* interleaving(sim);
  const row = ctx.row!;
  if (ctx.remember) forgetHeldDevice(store, ctx.remember, row.userId);
  const held: Held = { selector: sim.fresh('s'), validator: sim.fresh('v') };
  store.devices[held.selector] = {
    selector: held.selector,
    handle: row.handle,
    userId: row.userId!,
    validator: held.validator,
    previous: null,
    rotatedAt: null,
    createdAt: store.now,
    lastUsedAt: store.now,
    expiresAt: deviceExpiry(store.now),
  };
  yield* interleaving(sim);
  const stored = store.rows[row.token];
  if (!stored || stored.revokedAt !== null) {
    delete store.devices[held.selector];
    return ctx.end();
  }
  ctx.holdRemember(held);
}

/** A selector alone is no capability: only its current validator, or the token's own user. */
export function forgetHeldDevice(store: Store, held: Held, userId: string | null): void {
  const device = store.devices[held.selector];
  if (!device) return;
  if (held.validator !== device.validator && device.userId !== userId) return;
  delete store.devices[held.selector];
}
