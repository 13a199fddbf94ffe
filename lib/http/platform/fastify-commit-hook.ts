import type { HttpException } from '@nestjs/common';

type Outcome = HttpException | null;

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
 * Adds an `onSend` hook that runs `commit` before the headers of every response go out (and
 * waits for it when it returns a promise); a request the guard did not see costs one check.
 * When the outcome is an error, it is sent instead of the payload, with Nest's usual JSON body.
 */
export function addFastifyCommitHook(
  fastify: FastifyLike,
  watches: (request: object) => boolean,
  commit: (request: object, reply: FastifyReplyLike) => Outcome | Promise<Outcome>,
): void {
  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (!watches(request)) return done(null, payload);
    const settle = (failure: Outcome) => {
      if (!failure) return done(null, payload);
      destroyStream(payload);
      reply.code(failure.getStatus());
      reply.removeHeader('content-length');
      reply.header('content-type', 'application/json; charset=utf-8');
      done(null, JSON.stringify(failure.getResponse()));
    };
    const outcome = commit(request, reply);
    if (outcome instanceof Promise) outcome.then(settle, done);
    else settle(outcome);
  });
}

function destroyStream(payload: unknown): void {
  const stream = payload as { destroy?: unknown } | null;
  if (stream && typeof stream.destroy === 'function') (stream.destroy as () => void)();
}
