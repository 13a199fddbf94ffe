import { ExecutionContext } from '@nestjs/common';
import { SessionUsageError } from '../core/errors';
import { currentSocketMessage } from '../lifecycle/socket-message-scope';
import { graphqlHttpOf } from './graphql-context';

/**
 * The object a handler's session is attached to: the HTTP request (for a GraphQL resolver, the
 * HTTP request the operation came in), or the WebSocket message being handled.
 */
export function sessionCarrierOf(execution: ExecutionContext): object {
  switch (execution.getType<string>()) {
    case 'graphql':
      return graphqlHttpOf(execution).request;
    case 'ws':
      return socketMessageOf(execution);
    default:
      return execution.switchToHttp().getRequest<object>();
  }
}

/** The current message of the socket `execution` runs for; a clear error without the adapter. */
export function socketMessageOf(execution: ExecutionContext): object {
  const message = currentSocketMessage();
  if (!message || message.socket !== execution.switchToWs().getClient<object>()) {
    throw new SessionUsageError(
      "No session for this WebSocket message: register the package's adapter, app.useWebSocketAdapter(new SessionWebSocketAdapter(app, new WsAdapter(app))).",
    );
  }
  return message;
}
