import type { SaveOutcome } from '../session-saver';

/** The part of a Fastify instance and reply this hook uses (Fastify is an optional peer). */
interface FastifyReplyLike {
  statusCode: number;
  code(statusCode: number): unknown;
  header(name: string, value: string): unknown;
  removeHeader(name: string): unknown;
}
interface FastifyLike {
  addHook(
    name: 'onSend',
    hook: (
      request: object,
      reply: FastifyReplyLike,
      payload: unknown,
      done: (error: Error | null, payload?: unknown) => void,
    ) => void,
  ): unknown;
}

/**
 * Adds an `onSend` hook that runs `save` before the headers of every response go out (and
 * waits for it when it returns a promise). When the outcome is an error, it is sent instead of
 * the payload, with Nest's usual JSON body. `save` returns `null` at once for requests with
 * nothing to save.
 */
export function addFastifyResponseHook(
  fastify: FastifyLike,
  save: (request: object, reply: FastifyReplyLike) => SaveOutcome | Promise<SaveOutcome>,
): void {
  fastify.addHook('onSend', (request, reply, payload, done) => {
    const settle = (failure: SaveOutcome) => {
      if (!failure) return done(null, payload);
      destroyStream(payload);
      reply.code(failure.getStatus());
      reply.removeHeader('content-length');
      reply.header('content-type', 'application/json; charset=utf-8');
      done(null, JSON.stringify(failure.getResponse()));
    };
    const outcome = save(request, reply);
    if (outcome instanceof Promise) outcome.then(settle, done);
    else settle(outcome);
  });
}

function destroyStream(payload: unknown): void {
  const stream = payload as { destroy?: unknown } | null;
  if (stream && typeof stream.destroy === 'function') (stream.destroy as () => void)();
}
