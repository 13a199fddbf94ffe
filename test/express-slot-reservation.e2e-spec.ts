import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import request from 'supertest';
import { sessionCookies } from './support/http-client';
import { useTestApp } from './support/test-app';

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

/** The package's properties (by their symbols' descriptions) on `target`, hidden ones included. */
function packageSlots(target: object): string[] {
  return Object.getOwnPropertySymbols(target)
    .map((key) => key.description ?? '')
    .filter((name) => name.startsWith('nest-session-security:'));
}

/*
 * Express changes each request's and response's prototype as it starts handling them; a
 * property V8 adds after that costs a shape of its own per request. The package reserves its
 * properties from a request listener that runs before Express's.
 */
describe('session properties reserved before Express handles a request', () => {
  const t = useTestApp('express');

  it("a request and its response carry the package's properties when Express receives them, and sessions work as before", async () => {
    const server = t.app.getHttpServer() as Server;
    const listeners = server.listeners('request') as RequestListener[];
    const seen: { request: string[]; response: string[] }[] = [];
    // Express's own listener (the app) is wrapped: what it receives is recorded first.
    const wrapped = listeners.map((listener, index): RequestListener =>
      index === 0
        ? listener
        : (req, res) => {
            if (index === 1) seen.push({ request: packageSlots(req), response: packageSlots(res) });
            listener(req, res);
          },
    );
    server.removeAllListeners('request');
    for (const listener of wrapped) server.on('request', listener);
    try {
      const response = await request(server).post('/public/data').send({ a: 1 });
      expect(response.status).toBe(200);
      expect(sessionCookies(response)).toHaveLength(1);
      expect(seen).toEqual([
        {
          request: ['nest-session-security:session'],
          response: ['nest-session-security:held-response'],
        },
      ]);
    } finally {
      server.removeAllListeners('request');
      for (const listener of listeners) server.on('request', listener);
    }
  });

  it('adds one listener to the HTTP server, in front', () => {
    const server = t.app.getHttpServer() as Server;
    const listeners = server.listeners('request');
    expect(listeners).toHaveLength(2);
    expect(listeners[1]).toBe(t.app.getHttpAdapter().getInstance());
  });
});
