import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * One WebSocket message on its way through Nest (guard, pipes, handler): the object its session
 * is attached to, as a request is for HTTP. Nest hands guards and parameter decorators copies of
 * the message's arguments, never one object they share, so the message is found through the
 * async context the package's socket adapter opens around each handler call.
 */
export class SocketMessage {
  constructor(
    /** The socket the message came on (the platform's client object). */
    readonly socket: object,
  ) {}
}

const messages = new AsyncLocalStorage<SocketMessage>();

/** Runs `handle` with `message` as the current WebSocket message. */
export function runSocketMessage<T>(message: SocketMessage, handle: () => T): T {
  return messages.run(message, handle);
}

/** The WebSocket message being handled, if the package's socket adapter opened one. */
export function currentSocketMessage(): SocketMessage | undefined {
  return messages.getStore();
}
