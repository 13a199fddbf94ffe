import type { HttpException } from '@nestjs/common';
import type { ServerResponse } from 'node:http';

type Send = (...args: unknown[]) => unknown;

/**
 * Holds an Express response's first `write()` or `end()` until `commit` has run, then lets it
 * (and whatever was written meanwhile, in order) through; headers are still open while
 * `commit` runs. When `commit` returns an error, the held body is dropped and the error goes
 * out instead, with Nest's usual JSON body. Per response, only on responses the guard saw.
 */
export function holdUntilCommitted(
  response: ServerResponse,
  commit: (statusCode: number) => Promise<HttpException | null>,
): void {
  // Kept as found: another middleware (compression, for one) may have wrapped them already.
  const write = response.write as Send;
  const end = response.end as Send;
  const held: [Send, unknown[]][] = [];
  let state: 'open' | 'committing' | 'failed' = 'open';

  const release = (failure: HttpException | null) => {
    if (failure && !response.headersSent) {
      state = 'failed';
      sendError(response, end, failure);
      return;
    }
    response.write = write as ServerResponse['write'];
    response.end = end as ServerResponse['end'];
    for (const [send, args] of held.splice(0)) send.apply(response, args);
  };
  const hold = (send: Send, args: unknown[]) => {
    if (state === 'failed') return;
    held.push([send, args]);
    if (state === 'committing') return;
    state = 'committing';
    void commit(response.statusCode).then(release);
  };

  response.write = function heldWrite(...args: unknown[]) {
    hold(write, args);
    return true;
  } as ServerResponse['write'];
  response.end = function heldEnd(this: ServerResponse, ...args: unknown[]) {
    hold(end, args);
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
