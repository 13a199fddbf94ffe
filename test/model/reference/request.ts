import { Refusal, RequestContext } from './context';
import { Body, ModelRequest, Outcome, Route } from './exchange';
import { handle } from './handlers';
import { admit, readRow } from './load';
import { endIfForgotten, RestoreCheck, restoreFromCookie } from './remember-me';
import { fineInterleaving, interleaving, Simulation, Steps } from './regeneration';
import { save } from './save';

/*
 * What the package must answer to one request, and what it leaves in the store: the rules of
 * DESIGN.md and the README restated over the model's store. A request is a generator: it
 * yields where another request may run in between, so that parallel requests can be explored
 * in every interleaving (explorer.ts).
 */

/** Routes marked `@Public()`; every other one needs a signed-in session. */
const PUBLIC_ROUTES = new Set<Route>(['login', 'readPublic', 'writePublic', 'append']);

const SUCCESS_STATUS: Record<Route, number> = {
  login: 200,
  readPublic: 200,
  readPrivate: 200,
  writePublic: 200,
  writePrivate: 200,
  append: 200,
  elevate: 200,
  password: 200,
  logout: 204,
  sessions: 200,
  revokeDevice: 204,
  revokeOthers: 200,
  logoutAll: 200,
};

export type RequestRun = Steps<Outcome>;

/**
 * Serves `request`. It yields where another request may run in between: after its session row
 * was read (the loader decides on what it read, while others may change the store meanwhile;
 * the read itself changes nothing, which the explorer uses), at the start of the handler
 * (where the test app's gate holds requests), and, at the fine grain, between a restore and its
 * check of the device and between the statements of a restore or a handler.
 */
export function* serve(sim: Simulation, request: ModelRequest): RequestRun {
  const ctx = new RequestContext(sim.store.now, request.token !== null);
  let restored: RestoreCheck | null = null;
  try {
    if (request.token !== null) {
      const read = readRow(sim.store, request.token);
      yield 'step';
      // Unknown (never issued, deleted, collected): anonymous, cookie cleared.
      if (!read) ctx.cookie = 'clear';
      else admit(sim, ctx, read, 0);
    }
    if (request.remember !== null) restored = yield* restoreFromCookie(sim, ctx, request.remember);
  } catch (error) {
    if (error instanceof Refusal) return respond(ctx, error.status, error.code, null);
    throw error;
  }
  if (restored) {
    // The check is a statement of its own, after the restore's: a revocation may run in
    // between and end the new session, and forget the device (the check then ends the session).
    // Each of several restores from one cookie may meet this point.
    yield* fineInterleaving(sim);
    endIfForgotten(sim.store, ctx, restored);
  }
  if (!PUBLIC_ROUTES.has(request.route)) {
    const denial = ctx.denial ?? (ctx.row?.userId ? null : 'session_required');
    // Refused by the guard: nothing is saved, the cookie actions decided so far go out.
    if (denial) return respond(ctx, 401, denial, null);
  }
  yield 'gate';
  let status = SUCCESS_STATUS[request.route];
  let code: string | null = null;
  let body: Body | null = null;
  try {
    body = yield* handle(sim, ctx, request);
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    ({ status, code } = error);
  }
  // The save is a statement of its own: another request may come between it and a handler
  // that read the store (a device list shows the last touch of each session).
  if (request.route === 'sessions') yield 'step';
  else yield* interleaving(sim);
  // The save runs for error responses too; its own failure replaces a success only.
  try {
    yield* save(sim, ctx);
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    if (status < 400) {
      ({ status, code } = error);
      body = null;
    }
  }
  return respond(ctx, status, code, status < 400 ? body : null);
}

function respond(
  ctx: RequestContext,
  status: number,
  code: string | null,
  body: Body | null,
): Outcome {
  const cookie =
    ctx.cookie === 'set' && ctx.token
      ? ctx.token
      : ctx.cookie === 'clear' && ctx.cookieSent
        ? 'clear'
        : null;
  const remember = ctx.rememberCookie;
  return {
    status,
    code,
    body,
    cookie,
    remember: remember === null || remember === 'clear' ? remember : remember.set,
  };
}
