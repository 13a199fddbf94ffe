import type { HttpException } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { RequestSlot } from '../../core/request-slot';
import type { SaveOutcome } from '../session-saver';

type Send = (this: ServerResponse, ...args: unknown[]) => unknown;

/** Calls held while a save waits for the database, or `failed` once its error went out. */
type Held = [Send, unknown[]][] | 'failed';

const HOOKED = Symbol('nest-session-security:response-hook');

/** The calls each response holds while its save waits (empty when none does). */
const held = new RequestSlot<Held>('held-response');

/**
 * Gives a response the property its held calls will take, before Express changes the
 * response's shape (see `RequestSlot.reserve`); optional, an unreserved response works the same.
 */
export function reserveHeldResponseSlot(response: ServerResponse): void {
  held.reserve(response);
}

/**
 * Runs `save` at each Express response's first `write()` or `end()`, while its headers are
 * still open, through the app's own response prototype (`app.response`, Express's documented
 * extension point): no wrapper is added to each response, which measured several microseconds a
 * request. A save that waits for the database holds that call (and whatever is written
 * meanwhile, in order) until it is done. When the outcome is an error, the body is dropped and
 * the error goes out instead, with Nest's usual JSON body. `save` returns `null` at once for
 * responses with nothing (more) to save.
 */
export function addExpressResponseHook(
  responsePrototype: object,
  save: (response: ServerResponse) => SaveOutcome | Promise<SaveOutcome>,
): void {
  const target = responsePrototype as ServerResponse & { [HOOKED]?: true };
  if (target[HOOKED]) return;
  target[HOOKED] = true;
  // Looked up once: what the prototype chain gives (ServerResponse's own, or a wrapper).
  const write = target.write as Send;
  const end = target.end as Send;

  const release = (response: ServerResponse, calls: [Send, unknown[]][], failure: SaveOutcome) => {
    if (failure && !response.headersSent) {
      held.set(response, 'failed');
      sendError(response, end, failure);
      return;
    }
    held.set(response, undefined);
    for (const [send, args] of calls) send.apply(response, args);
  };
  const pass = (response: ServerResponse, send: Send, args: unknown[]): unknown => {
    const waiting = held.get(response);
    if (waiting === 'failed') return undefined;
    if (waiting) {
      waiting.push([send, args]);
      return undefined;
    }
    const outcome = save(response);
    if (outcome === null) return send.apply(response, args);
    if (!(outcome instanceof Promise)) {
      release(response, [[send, args]], outcome);
      return undefined;
    }
    const calls: [Send, unknown[]][] = [[send, args]];
    held.set(response, calls);
    void outcome.then((failure) => release(response, calls, failure));
    return undefined;
  };

  target.write = function savingWrite(this: ServerResponse, ...args: unknown[]) {
    return pass(this, write, args) ?? true;
  } as ServerResponse['write'];
  target.end = function savingEnd(this: ServerResponse, ...args: unknown[]) {
    pass(this, end, args);
    return this;
  } as ServerResponse['end'];
}

function sendError(response: ServerResponse, end: Send, failure: HttpException): void {
  const body = JSON.stringify(failure.getResponse());
  response.statusCode = failure.getStatus();
  for (const name of ['content-length', 'content-type', 'etag', 'last-modified'])
    response.removeHeader(name);
  response.setHeader('Content-Type', 'application/json; charset=utf-8');
  response.setHeader('Content-Length', Buffer.byteLength(body));
  end.call(response, response.req.method === 'HEAD' ? undefined : body);
}
