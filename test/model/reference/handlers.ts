import { Refusal, RequestContext } from './context';
import { Body, ModelRequest, SessionEntry } from './exchange';
import { forgetHeldDevice, issueRememberMe } from './remember-me';
import { fineInterleaving, interleaving, regenerate, Simulation, Steps } from './regeneration';
import {
  activeOfUser,
  countActive,
  deleteChainSteps,
  deleteDevices,
  Device,
  revokeRows,
  Row,
  Store,
} from './store';

/*
 * The handlers of the test app's routes (test/support/test.controller.ts), as the README says
 * the services they call behave: sign-in, privilege change, password change, logout, the device
 * list and its revocations.
 */

/** The routes of the test controller. */
export function* handle(sim: Simulation, ctx: RequestContext, request: ModelRequest): Steps<Body> {
  const { store } = sim;
  switch (request.route) {
    case 'readPublic':
    case 'readPrivate':
      return view(ctx);
    case 'writePublic':
    case 'writePrivate':
      ctx.set(request.key!, request.value!);
      return view(ctx);
    case 'append':
      return { kind: 'list', list: ctx.append(request.key!, request.item!) };
    case 'login':
      yield* regenerate(sim, ctx, { purpose: 'login', userId: request.userId! });
      if (request.rememberMe) yield* issueRememberMe(sim, ctx);
      return view(ctx);
    case 'elevate':
      yield* regenerate(sim, ctx, { purpose: 'privilege' });
      return view(ctx);
    case 'password':
      return { kind: 'ended', ended: yield* passwordChanged(sim, ctx) };
    case 'logout':
      if (ctx.remember) {
        forgetHeldDevice(store, ctx.remember, ctx.row?.userId ?? null);
        ctx.forgetRemember();
      }
      yield* endCurrent(sim, ctx);
      return { kind: 'none' };
    case 'sessions':
      return { kind: 'sessions', entries: listSessions(store, ctx) };
    case 'revokeDevice':
      if (!(yield* revokeDevice(sim, ctx, request.handle!))) throw new Refusal(404, 'not_found');
      return { kind: 'none' };
    case 'revokeOthers':
      return { kind: 'ended', ended: yield* revokeOthers(sim, ctx) };
    case 'logoutAll':
      return { kind: 'ended', ended: yield* logoutAll(sim, ctx) };
  }
}

function view(ctx: RequestContext): Body {
  return {
    kind: 'view',
    userId: ctx.ended ? null : (ctx.row?.userId ?? null),
    handle: ctx.row?.handle ?? null,
    data: structuredClone(ctx.values),
  };
}

/** Logout: its chain goes row by row, and a revocation may come in between. */
function* endCurrent(sim: Simulation, ctx: RequestContext): Steps<void> {
  if (ctx.token) {
    const deletions = deleteChainSteps(sim.store, ctx.token);
    while (!deletions.next().done) yield* interleaving(sim);
  }
  ctx.end();
}

/** A new ID that counts as a fresh sign-in; every other session and token of the user ends. */
function* passwordChanged(sim: Simulation, ctx: RequestContext): Steps<number> {
  const userId = ctx.row?.userId;
  if (!userId) return 0;
  yield* regenerate(sim, ctx, { purpose: 'login', userId });
  yield* interleaving(sim);
  ctx.forgetRemember();
  const kept = ctx.row!.handle;
  const revoked = yield* revokeWithDevices(
    sim,
    userId,
    (row) => row.handle !== kept,
    () => () => true,
  );
  return countActive(revoked);
}

/**
 * A revocation that forgets remembered devices: their tokens first (a device cannot restore a
 * session in between), then the sessions, then the tokens again (a sign-in that stored its
 * token between the two loses it). `devices` is asked again for the second pass.
 */
function* revokeWithDevices(
  sim: Simulation,
  userId: string,
  sessions: (row: Row) => boolean,
  devices: () => (device: Device) => boolean,
): Steps<Row[]> {
  const { store } = sim;
  deleteDevices(store, userId, devices());
  yield* interleaving(sim);
  const revoked = yield* revokeInPasses(sim, userId, sessions);
  deleteDevices(store, userId, devices());
  return revoked;
}

/**
 * Revokes in passes until a pass revokes nothing, as one SQL statement per pass does: it picks
 * its rows when it starts and revokes those still unrevoked when it gets them, so a session
 * that a concurrent regeneration or sign-in stores meanwhile is left to the next pass.
 */
function* revokeInPasses(
  sim: Simulation,
  userId: string,
  sessions: (row: Row) => boolean,
): Steps<Row[]> {
  const revoked: Row[] = [];
  for (;;) {
    const targets = new Set(
      Object.values(sim.store.rows)
        .filter((row) => row.userId === userId && row.revokedAt === null && sessions(row))
        .map((row) => row.token),
    );
    yield* interleaving(sim);
    const pass = revokeRows(sim.store, userId, (row) => targets.has(row.token) && sessions(row));
    if (pass.length === 0) return revoked;
    revoked.push(...pass);
    // Each pass is a statement of its own: another request's statement may come before the next.
    yield* fineInterleaving(sim);
  }
}

function listSessions(store: Store, ctx: RequestContext): SessionEntry[] {
  const current = ctx.row?.handle;
  return activeOfUser(store, ctx.row!.userId!).map((row) => ({
    handle: row.handle,
    current: row.handle === current,
    createdAt: row.createdAt,
    authenticatedAt: row.authenticatedAt,
    lastSeenAt: row.lastSeenAt,
  }));
}

/**
 * One device entry of the user (another user's handle matches nothing): its rows, the
 * remember-me tokens it issued or was restored from, and the sessions restored from those.
 */
function* revokeDevice(sim: Simulation, ctx: RequestContext, handle: string): Steps<boolean> {
  const { store } = sim;
  const userId = ctx.row!.userId!;
  // In passes, as every revocation: a row it picked live may be obsolete when it gets it (a
  // rotation came in between), and is revoked all the same.
  const sessions = yield* revokeInPasses(sim, userId, (row) => row.handle === handle);
  yield* interleaving(sim);
  const devices = new Set<string>([handle]);
  for (const row of sessions) {
    devices.add(row.handle);
    if (row.rememberMeHandle) devices.add(row.rememberMeHandle);
  }
  const forgotten = deleteDevices(store, userId, (device) => devices.has(device.handle));
  if (forgotten > 0) {
    yield* interleaving(sim);
    sessions.push(
      ...(yield* revokeInPasses(
        sim,
        userId,
        (row) => row.rememberMeHandle !== null && devices.has(row.rememberMeHandle),
      )),
    );
  }
  if (sessions.length > 0 && ctx.row?.handle === handle) ctx.end();
  return sessions.length > 0 || forgotten > 0;
}

/** Every other login of the user, and every remembered device but the one the caller holds. */
function* revokeOthers(sim: Simulation, ctx: RequestContext): Steps<number> {
  const { store } = sim;
  const userId = ctx.row?.userId;
  if (!userId) return 0;
  const held = ctx.remember;
  // The caller's own token, when it holds the current validator (a selector proves nothing).
  const allButHeld = () => {
    const kept = held ? store.devices[held.selector] : undefined;
    const keep = kept && kept.userId === userId && kept.validator === held!.validator;
    return (device: Device) => !keep || device.selector !== kept.selector;
  };
  const current = ctx.row!.handle;
  const revoked = yield* revokeWithDevices(
    sim,
    userId,
    (row) => row.handle !== current,
    allButHeld,
  );
  return countActive(revoked);
}

function* logoutAll(sim: Simulation, ctx: RequestContext): Steps<number> {
  const userId = ctx.row!.userId!;
  const ended = countActive(
    yield* revokeWithDevices(
      sim,
      userId,
      () => true,
      () => () => true,
    ),
  );
  ctx.end();
  ctx.forgetRemember();
  return ended;
}
