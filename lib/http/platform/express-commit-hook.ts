import type { HttpException } from '@nestjs/common';
import type { ServerResponse } from 'node:http';

type Send = (this: ServerResponse, ...args: unknown[]) => unknown;
type Outcome = HttpException | null;

/**
 * Runs `commit` at an Express response's first `write()` or `end()`, while its headers are
 * still open. A commit that must wait for the database holds that call (and whatever is
 * written meanwhile, in order) until it is done. When the outcome is an error, the body is
 * dropped and the error goes out instead, with Nest's usual JSON body. Per response, only on
 * responses the guard saw.
 */
export function holdUntilCommitted(
  response: ServerResponse,
  commit: (statusCode: number) => Outcome | Promise<Outcome>,
): void {
  // Kept as found: another middleware (compression, for one) may have wrapped them already.
  const write = response.write as Send;
  const end = response.end as Send;
  // null: before the first call; an array: calls held while committing; then the result.
  let held: [Send, unknown[]][] | 'sent' | 'failed' | null = null;

  const settle = (outcome: Outcome, calls: [Send, unknown[]][]): unknown => {
    if (outcome && !response.headersSent) {
      held = 'failed';
      sendError(response, end, outcome);
      return undefined;
    }
    held = 'sent';
    let result: unknown;
    for (const [send, args] of calls) result = send.apply(response, args);
    return result;
  };
  const hold = (send: Send, args: unknown[]): unknown => {
    if (held === 'sent') return send.apply(response, args);
    if (held === 'failed') return undefined;
    if (held) {
      held.push([send, args]);
      return undefined;
    }
    const outcome = commit(response.statusCode);
    if (!(outcome instanceof Promise)) return settle(outcome, [[send, args]]);
    const calls: [Send, unknown[]][] = [[send, args]];
    held = calls;
    void outcome.then((settled) => settle(settled, calls));
    return undefined;
  };

  response.write = function heldWrite(...args: unknown[]) {
    return hold(write, args) ?? true;
  } as ServerResponse['write'];
  response.end = function heldEnd(...args: unknown[]) {
    hold(end, args);
    return response;
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
