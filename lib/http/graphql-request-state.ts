import { RequestSlot } from '../core/request-slot';
import type { SessionContext } from '../lifecycle/session-context';

/**
 * What the guard remembers about one HTTP request that carries GraphQL operations, across the
 * root fields it runs for. Kept on the request (like the session itself), so that two guard
 * instances (a global one and a `@UseGuards` one) share it.
 */
interface GraphqlRequestState {
  /** The session being loaded: the root fields of a query resolve concurrently. */
  loading?: Promise<SessionContext>;
  /** A `csrf.rejected` event was emitted for this request. */
  csrfReported?: boolean;
}

const states = new RequestSlot<GraphqlRequestState>('graphql-request');

function stateOf(request: object): GraphqlRequestState {
  let state = states.get(request);
  if (!state) states.set(request, (state = {}));
  return state;
}

/**
 * The request's session, loaded by `load` once: graphql-js starts the resolvers of a query's
 * root fields together, so the second field's guard runs while the first one's load is still
 * waiting for the database, and a second load would attach a second, diverging session.
 */
export function loadGraphqlSessionOnce(
  request: object,
  load: () => Promise<SessionContext>,
): Promise<SessionContext> {
  const state = stateOf(request);
  state.loading ??= load();
  return state.loading;
}

/**
 * `true` the first time a request is refused by the CSRF checks: one `csrf.rejected` event per
 * forged request, however many of its root fields are refused.
 */
export function firstCsrfRejection(request: object): boolean {
  const state = stateOf(request);
  if (state.csrfReported) return false;
  state.csrfReported = true;
  return true;
}
