import { HttpException, Injectable } from '@nestjs/common';
import { ExternalContextCreator } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import {
  Authenticated,
  Public,
  SessionContextUnsupportedException,
  SessionDenialCode,
  SessionForbiddenException,
  SessionGuard,
} from 'nest-session-security';
import { ADAPTERS, TestApp, useTestApp } from './support/test-app';

/**
 * Stands in for a GraphQL resolver, a WebSocket gateway or a microservice controller: Nest
 * calls its methods outside HTTP, through the same global guards as HTTP routes.
 */
@Injectable()
class Handlers {
  /** The handlers that ran, in order. */
  readonly ran: string[] = [];

  @Public()
  publicHandler() {
    this.ran.push('publicHandler');
    return 'public ran';
  }

  @Authenticated()
  authenticatedHandler() {
    this.ran.push('authenticatedHandler');
    return 'authenticated ran';
  }

  undecoratedHandler() {
    this.ran.push('undecoratedHandler');
    return 'undecorated ran';
  }
}

/** A public class: its methods are public unless a method says otherwise. */
@Public()
@Injectable()
class PublicHandlers {
  undecoratedHandler() {
    return 'undecorated ran';
  }

  @Authenticated()
  authenticatedHandler() {
    return 'authenticated ran';
  }
}

type HandlerClass = typeof Handlers | typeof PublicHandlers;
type HandlerName = 'publicHandler' | 'authenticatedHandler' | 'undecoratedHandler';

const NON_HTTP_TYPES = ['graphql', 'ws', 'rpc'] as const;

/** The execution context Nest builds for a handler of `type`: args, class and handler. */
function contextOf(type: string, host: HandlerClass, method: HandlerName): ExecutionContextHost {
  const handler = (host.prototype as unknown as Record<HandlerName, () => string>)[method];
  const context = new ExecutionContextHost([{}, {}, {}, {}], host, handler);
  context.setType(type);
  return context;
}

/** The guard's verdict: `true`, or the exception it refused with (failing when neither). */
async function verdict(t: TestApp, context: ExecutionContextHost): Promise<true | HttpException> {
  try {
    const allowed = await t.app.get(SessionGuard).canActivate(context);
    expect(allowed).toBe(true);
    return true;
  } catch (error) {
    expect(error).toBeInstanceOf(HttpException);
    return error as HttpException;
  }
}

/** Asserts a refusal: 403 `session_context_unsupported`, naming the context and the way out. */
function expectUnsupported(outcome: true | HttpException, type: string, handler: string): void {
  expect(outcome).toBeInstanceOf(SessionContextUnsupportedException);
  expect(outcome).toBeInstanceOf(SessionForbiddenException);
  const refusal = outcome as SessionContextUnsupportedException;
  expect(refusal.getStatus()).toBe(403);
  expect(refusal.code).toBe(SessionDenialCode.ContextUnsupported);
  expect(refusal.contextType).toBe(type);
  const body = refusal.getResponse() as Record<string, unknown>;
  expect(body).toMatchObject({
    statusCode: 403,
    error: 'Forbidden',
    code: 'session_context_unsupported',
  });
  expect(body.message).toContain(`"${type}"`);
  expect(body.message).toContain('No session can be loaded');
  expect(body.message).toContain(handler);
  expect(body.message).toContain('@Public()');
}

describe.each(ADAPTERS)('non-HTTP contexts fail closed (%s)', (adapter) => {
  describe("defaultAccess 'authenticated' (the default)", () => {
    const t = useTestApp(adapter, { providers: [Handlers, PublicHandlers] });

    describe.each(NON_HTTP_TYPES)('%s', (type) => {
      it(`issue 11 §5: an @Authenticated() ${type} handler is refused (403 session_context_unsupported, "${type}" named)`, async () => {
        expectUnsupported(
          await verdict(t, contextOf(type, Handlers, 'authenticatedHandler')),
          type,
          'Handlers.authenticatedHandler',
        );
      });

      it(`issue 11 §5: an undecorated ${type} handler is refused: it requires a session by default`, async () => {
        expectUnsupported(
          await verdict(t, contextOf(type, Handlers, 'undecoratedHandler')),
          type,
          'Handlers.undecoratedHandler',
        );
      });

      it(`issue 11 §5: a @Public() ${type} handler runs, without touching the session store`, async () => {
        expect(await verdict(t, contextOf(type, Handlers, 'publicHandler'))).toBe(true);
        expect(t.statements.count).toBe(0);
        expect(t.events).toEqual([]);
      });

      it(`issue 11 §5: a ${type} handler of a @Public() class runs; @Authenticated() on the method still wins`, async () => {
        expect(await verdict(t, contextOf(type, PublicHandlers, 'undecoratedHandler'))).toBe(true);
        expectUnsupported(
          await verdict(t, contextOf(type, PublicHandlers, 'authenticatedHandler')),
          type,
          'PublicHandlers.authenticatedHandler',
        );
      });

      /**
       * The way @nestjs/graphql runs a resolver (and the WebSocket and microservice context
       * creators a handler): Nest's ExternalContextCreator wraps the method with the global
       * guards, here the APP_GUARD SessionGuard of the test app.
       */
      it(`issue 11 §5: through Nest's own ${type} handler wrapper, the global guard stops the handler before it runs`, async () => {
        const creator = t.app.get(ExternalContextCreator);
        const handlers = t.app.get(Handlers);
        handlers.ran.length = 0;
        const wrap = (method: HandlerName) =>
          creator.create(
            handlers,
            Handlers.prototype[method],
            method,
            undefined,
            undefined,
            undefined,
            undefined,
            { guards: true, interceptors: true, filters: true },
            type,
          );
        await expect(wrap('undecoratedHandler')({}, {}, {}, {})).rejects.toMatchObject({
          code: 'session_context_unsupported',
          contextType: type,
        });
        await expect(wrap('authenticatedHandler')({}, {}, {}, {})).rejects.toBeInstanceOf(
          SessionContextUnsupportedException,
        );
        expect(handlers.ran).toEqual([]);
        await expect(wrap('publicHandler')({}, {}, {}, {})).resolves.toBe('public ran');
        expect(handlers.ran).toEqual(['publicHandler']);
      });
    });
  });

  describe("defaultAccess 'public'", () => {
    const t = useTestApp(adapter, { options: { defaultAccess: 'public' } });

    it.each(NON_HTTP_TYPES)(
      "issue 11 §5: an undecorated %s handler is public by the module's default and runs",
      async (type) => {
        expect(await verdict(t, contextOf(type, Handlers, 'undecoratedHandler'))).toBe(true);
        expect(t.statements.count).toBe(0);
      },
    );

    it.each(NON_HTTP_TYPES)(
      'issue 11 §5: an @Authenticated() %s handler is still refused',
      async (type) => {
        expectUnsupported(
          await verdict(t, contextOf(type, Handlers, 'authenticatedHandler')),
          type,
          'Handlers.authenticatedHandler',
        );
      },
    );
  });
});
