import { ExecutionContext } from '@nestjs/common';
import { SessionUsageError } from '../core/errors';

/** The HTTP request and response a GraphQL operation came with. */
export interface GraphqlHttp {
  request: object;
  response: unknown;
}

/**
 * The parts of a GraphQL context (the third resolver argument) this package reads. The drivers
 * of `@nestjs/graphql` always put the HTTP request in `req`; the rest depends on the driver:
 * - Apollo on Express: the context factory receives `{ req, res }`; without a factory the
 *   context is `{ req }`, and Express's request has the response in `req.res`.
 * - Apollo on Fastify: the factory receives `(request, reply)`; without one, `{ req: request }`.
 * - Mercurius: `{ req: request }` (or the factory's result), to which Mercurius adds `reply`
 *   (whose `request` is the Fastify request) and `app`.
 */
interface GraphqlContextShape {
  req?: unknown;
  res?: unknown;
  reply?: unknown;
}

/** An Express or Fastify request, as far as this package needs one. */
function isRequest(value: unknown): value is { headers: object; res?: unknown } {
  if (typeof value !== 'object' || value === null) return false;
  const { headers } = value as { headers?: unknown };
  return typeof headers === 'object' && headers !== null;
}

/**
 * The handshake of a WebSocket, which a subscription server's context factory may pass as
 * `req`: its operations are not HTTP requests. There is no response to save the session with,
 * and a session attached to the handshake would serve every later operation of the socket,
 * even after it was revoked.
 */
function isWebSocketHandshake(request: { headers: object }): boolean {
  const { upgrade } = request.headers as { upgrade?: unknown };
  return typeof upgrade === 'string' && upgrade.toLowerCase() === 'websocket';
}

/**
 * The HTTP request and response of a GraphQL resolver's operation, read from the GraphQL
 * context without importing `@nestjs/graphql`; `null` when the operation did not come over HTTP
 * (an operation over a WebSocket, such as a subscription) or the context was replaced by one
 * without the request.
 *
 * Mercurius's `reply.request` comes first: it is the very object Fastify's `onSend` hook gets,
 * where the session is saved, whatever the app's context factory put in `req`.
 */
export function findGraphqlHttp(execution: ExecutionContext): GraphqlHttp | null {
  const context = execution.getArgByIndex<GraphqlContextShape | undefined>(2);
  if (typeof context !== 'object' || context === null) return null;
  const reply = context.reply as { request?: unknown } | undefined;
  const request = isRequest(reply?.request) ? reply.request : context.req;
  if (!isRequest(request) || isWebSocketHandshake(request)) return null;
  return { request, response: context.res ?? context.reply ?? request.res };
}

/**
 * {@link findGraphqlHttp}, for the parameter decorators: a resolver that asks for the session
 * must have an HTTP request to find it on.
 */
export function graphqlHttpOf(execution: ExecutionContext): GraphqlHttp {
  const http = findGraphqlHttp(execution);
  if (http) return http;
  throw new SessionUsageError(
    'No HTTP request in this GraphQL context, so there is no session: sessions work for GraphQL over HTTP, not for operations over a WebSocket (subscriptions). If your context factory builds a new object, keep the request in it: context: ({ req, res }) => ({ req, res }) with Apollo on Express, (request, reply) => ({ req: request, reply }) on Fastify.',
  );
}

/**
 * The kind of the resolver's operation, `query`, `mutation` or `subscription`, from the
 * resolve info (the fourth resolver argument); `undefined` when there is none.
 */
export function graphqlOperationOf(execution: ExecutionContext): string | undefined {
  const info = execution.getArgByIndex<{ operation?: { operation?: unknown } } | undefined>(3);
  const operation = info?.operation?.operation;
  return typeof operation === 'string' ? operation : undefined;
}
