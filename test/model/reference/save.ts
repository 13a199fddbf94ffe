import { Refusal, RequestContext } from './context';
import {
  continuation,
  createSession,
  interleaving,
  regenerate,
  Simulation,
  Steps,
} from './regeneration';

/*
 * What happens after the handler (README, "Saving"): lazy creation, rotation when due, the
 * changed keys merged into the stored data, the throttled touch; a request whose session
 * changed meanwhile follows it (or yields to a sign-in, or loses an ended session).
 */

/** After the handler: lazy creation, rotation when due, the data and the touch. */
export function* save(sim: Simulation, ctx: RequestContext): Steps<void> {
  if (ctx.ended) return;
  if (!ctx.row) {
    // Lazy creation: a visitor gets a row (and a cookie) with its first data.
    if (Object.keys(ctx.values).length > 0) createSession(sim, ctx, { userId: null });
    return;
  }
  if (!ctx.hasChanges && !ctx.touchDue && !ctx.rotationDue) return;
  if (ctx.rotationDue) {
    yield* regenerate(sim, ctx, { purpose: 'rotation' });
    if (ctx.ended || !ctx.hasChanges) return;
    // Functional updates follow the rotation in a statement of their own.
    yield* interleaving(sim);
  }
  update(sim, ctx);
}

/** Writes the changes (and the touch) onto the live row, following a concurrent regeneration. */
function update(sim: Simulation, ctx: RequestContext): void {
  const { store } = sim;
  for (let attempt = 0; attempt < 25; attempt++) {
    const token = ctx.token;
    if (!ctx.row || !token) return;
    const stored = store.rows[token];
    if (stored && stored.obsoletedAt === null && stored.revokedAt === null) {
      if (ctx.touchDue) stored.lastSeenAt = store.now;
      if (ctx.hasChanges) stored.data = ctx.applyTo(stored.data);
      ctx.persisted(stored);
      return;
    }
    const next = continuation(store, token);
    if (next === 'signed-in') return ctx.yieldToSignIn();
    if (!next) return ctx.lose();
    ctx.adopt(next, true);
    ctx.reapplyUpdates();
    if (next.token !== token) ctx.cookie = 'set';
    if (!ctx.hasChanges) return;
  }
  throw new Refusal(409, 'session_busy');
}
