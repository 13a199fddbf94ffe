import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { reserveSessionSlot } from '../../lifecycle/session-request';
import { reserveHeldResponseSlot } from './express-response-hook';

const RESERVING = Symbol('nest-session-security:slot-reservation');

/**
 * Reserves the package's properties on each request and response of `server` as it arrives,
 * from a `request` listener put before Express's: Express changes every request's and
 * response's prototype first thing, after which each property added costs V8 a shape of its
 * own (`RequestSlot.reserve`). A request that reaches the app another way (a server of the
 * app's own, a serverless handler) gets its properties when they are first set, as before.
 */
export function reserveSlotsOnArrival(server: Server): void {
  const target = server as Server & { [RESERVING]?: true };
  if (target[RESERVING]) return;
  target[RESERVING] = true;
  server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
    reserveSessionSlot(request);
    reserveHeldResponseSlot(response);
  });
}
