import { CanActivate, ExecutionContext, Injectable, OnModuleInit } from '@nestjs/common';
import { ModuleRef, Reflector } from '@nestjs/core';
import { SKIP_CSRF_KEY } from '../decorators/csrf.decorators';
import { FRESH_AUTH_KEY } from '../decorators/fresh-auth.decorator';
import { SESSION_ACCESS_KEY } from '../decorators/route-access.decorators';
import { describeSession, SessionEvents } from '../events/session-events';
import { CsrfRejectedEvent } from '../events/session-event';
import { DefaultRouteAccess } from '../options/session-options';
import { InjectSessionOptions } from '../options/session-options.token';
import type { ResolvedSessionOptions } from '../options/resolve-session-options';
import { RememberMeService } from '../remember-me/remember-me.service';
import { SessionService } from '../lifecycle/session.service';
import { SessionContext, SessionDenial } from '../lifecycle/session-context';
import { SessionLoader } from '../lifecycle/session-loader';
import { setCurrentUser } from '../user/current-user';
import { findSessionUserLoader } from '../user/find-session-user-loader';
import { SessionUserLoader } from '../user/session-user-loader';
import {
  SessionContextUnsupportedException,
  SessionDenialCode,
  SessionForbiddenException,
  SessionGraphQLException,
  SessionUnauthorizedException,
} from '../errors/session.exceptions';
import { attachSessionContext, getSession, sessionContextOf } from '../lifecycle/session-request';
import { authenticationDenial, freshnessDenial } from '../lifecycle/access-denials';
import { currentSocketMessage } from '../lifecycle/socket-message-scope';
import { findGraphqlHttp, graphqlOperationOf } from '../decorators/graphql-context';
import { clientInfo, requestHeader, SessionRequest } from './client-request';
import { csrfRejection, tokenRejection } from './csrf-check';
import { SessionResponseHeaders } from './response-headers';
import { graphqlCsrfChecks } from './graphql-csrf-policy';
import { asGraphqlDenial } from './graphql-denial';
import { firstCsrfRejection, loadGraphqlSessionOnce } from './graphql-request-state';
import { andThen, MaybePromise } from '../core/maybe-promise';

/** Methods that must not change state, so they need no CSRF token. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/** A GraphQL resolver's refusal: the denial, with the status it has over REST. */
function graphqlDenial(denial: SessionDenial, status: number): SessionGraphQLException {
  return new SessionGraphQLException(denial.code, denial.message, status);
}

/** A route's session requirements, read once per handler from its decorators. */
interface RouteRules {
  access: DefaultRouteAccess;
  skipCsrf: boolean;
  freshAuthMaxAge: number | undefined;
}

/**
 * Loads the request's session (strict mode, idle and absolute expiry, obsolete IDs), attaches
 * it to the request, and enforces the route's requirements: the access level (`@Public()`,
 * `@Authenticated()`, or the module's `defaultAccess`), CSRF on unsafe methods (unless
 * `@SkipCsrf()`), and `@RequireFreshAuth()`. When the app provides a `SessionUserLoader`, it
 * also loads the user of a signed-in session, once per request, for `@CurrentUser()` and
 * `req.user`.
 *
 * GraphQL resolvers get the same rules on the operation's HTTP request; WebSocket messages those
 * of the package's socket adapter. Where no session can be loaded (microservices, a GraphQL
 * operation without an HTTP request, sockets without the adapter) only public handlers run, the
 * others are refused with 403 `session_context_unsupported`.
 *
 * @example
 * // every route, globally:
 * providers: [{ provide: APP_GUARD, useClass: SessionGuard }]
 * // or one controller:
 * @UseGuards(SessionGuard)
 */
@Injectable()
export class SessionGuard implements CanActivate, OnModuleInit {
  /** Decorators do not change at run time: their reading is kept per controller and handler. */
  private readonly rulesByClass = new WeakMap<object, WeakMap<object, RouteRules>>();
  /** The app's user loader, from any module; `null` when it loads no users. */
  private userLoader: SessionUserLoader | null = null;

  constructor(
    protected readonly reflector: Reflector,
    protected readonly loader: SessionLoader,
    protected readonly headers: SessionResponseHeaders,
    protected readonly events: SessionEvents,
    protected readonly rememberMe: RememberMeService,
    @InjectSessionOptions() protected readonly options: ResolvedSessionOptions,
    protected readonly sessions: SessionService,
    protected readonly moduleRef: ModuleRef,
  ) {}

  /** Finds the app's `SessionUserLoader` once, when every module's providers exist. */
  onModuleInit(): void {
    this.userLoader = findSessionUserLoader(this.moduleRef);
  }

  canActivate(execution: ExecutionContext): MaybePromise<boolean> {
    switch (execution.getType<string>()) {
      case 'http': {
        const http = execution.switchToHttp();
        const request = http.getRequest<SessionRequest>();
        return this.canActivateHttp(execution, request, http.getResponse<unknown>());
      }
      case 'graphql':
        return this.canActivateGraphql(execution);
      case 'ws':
        return this.canActivateSocketMessage(execution);
      default:
        return this.canActivateOutsideHttp(execution);
    }
  }

  /**
   * A REST route: the request's session, its access level, CSRF and freshness. Decided at once
   * when the session is at hand (see `loadSession`).
   */
  protected canActivateHttp(
    execution: ExecutionContext,
    request: SessionRequest,
    response: unknown,
  ): MaybePromise<boolean> {
    const context = sessionContextOf(request) ?? this.loadSession(request);
    return andThen(context, (loaded) => this.enforceRoute(execution, request, response, loaded));
  }

  /** A REST route's access level, CSRF and freshness, on the request's session. */
  private enforceRoute(
    execution: ExecutionContext,
    request: SessionRequest,
    response: unknown,
    context: SessionContext,
  ): boolean {
    const rules = this.rulesOf(execution);
    const authenticated = rules.access === 'authenticated';
    if (authenticated) this.requireAuthentication(response, context);
    if (!rules.skipCsrf) this.verifyCsrf(request, response, context);
    if (authenticated) this.requireFreshness(rules.freshAuthMaxAge, response, context);
    return true;
  }

  /**
   * A GraphQL resolver (a root field; field resolvers too with `fieldResolverEnhancers:
   * ['guards']`): the session of the HTTP request the operation came in, loaded once however
   * many root fields run the guard; the resolver's access level and freshness as on a REST
   * route; the CSRF rules of `graphqlCsrfChecks`. A denial is a `SessionGraphQLException`, whose
   * `code` reaches the response as `extensions.code`. It refuses this field only, so nothing is
   * marked refused: the request's other fields run, and its session is saved (its cookie set or
   * cleared) by the platform's response hook as for any request. An operation that did not come
   * over HTTP (a subscription over a WebSocket) has no cookie: only public resolvers run there,
   * as in `canActivateOutsideHttp`.
   */
  protected async canActivateGraphql(execution: ExecutionContext): Promise<boolean> {
    const http = findGraphqlHttp(execution);
    if (!http) return this.canActivateOutsideHttp(execution);
    const request = http.request as SessionRequest;
    let context: SessionContext;
    try {
      context =
        sessionContextOf(request) ??
        (await loadGraphqlSessionOnce(request, async () => this.loadSession(request)));
    } catch (error) {
      throw asGraphqlDenial(error);
    }
    const rules = this.rulesOf(execution);
    const authenticated = rules.access === 'authenticated';
    const unauthenticated = authenticated ? authenticationDenial(context) : null;
    if (unauthenticated) throw graphqlDenial(unauthenticated, 401);
    const forged = rules.skipCsrf ? null : this.graphqlCsrfDenial(execution, request, context);
    if (forged) throw graphqlDenial(forged, 403);
    const stale = authenticated ? freshnessDenial(rules.freshAuthMaxAge, context) : null;
    if (stale) throw graphqlDenial(stale, 401);
    return true;
  }

  /** The checks of `graphqlCsrfChecks` carried out: the refusal of a request failing one. */
  private graphqlCsrfDenial(
    execution: ExecutionContext,
    request: SessionRequest,
    context: SessionContext,
  ): SessionDenial | null {
    if (!this.options.csrf.enabled) return null;
    const method = (request.method ?? 'GET').toUpperCase();
    const checks = graphqlCsrfChecks({
      safeMethod: SAFE_METHODS.has(method),
      contentType: requestHeader(request, 'content-type'),
      operation: graphqlOperationOf(execution),
    });
    if (checks.provenance) context.markCsrfChecked();
    const reason = checks.provenance
      ? csrfRejection(request, context, this.options.csrf, checks.token !== null)
      : tokenRejection(request, context, this.options.csrf.header, checks.token !== null);
    if (!reason) return null;
    if (firstCsrfRejection(request)) this.reportCsrfRejection(context, reason, method);
    if (reason !== 'missing-token' && reason !== 'invalid-token') {
      return {
        code: SessionDenialCode.CsrfOriginRejected,
        message: 'This request comes from another site and was refused.',
      };
    }
    const tokenHeader = this.options.csrf.header;
    return {
      code: SessionDenialCode.CsrfTokenInvalid,
      message:
        checks.token === 'body'
          ? `A GraphQL request sent as a form or as text/plain needs a valid CSRF token for this session in the ${tokenHeader} header; send operations as application/json.`
          : `A GraphQL mutation needs a valid CSRF token for this session in the ${tokenHeader} header.`,
    };
  }

  private reportCsrfRejection(
    context: SessionContext,
    reason: CsrfRejectedEvent['reason'],
    method: string,
  ): void {
    this.events.emit({
      type: 'csrf.rejected',
      at: context.loadedAt,
      request: context.client,
      reason,
      method,
      session: context.record ? describeSession(context.record) : null,
    });
  }

  /**
   * A WebSocket message handler, when a gateway names the guard (Nest's global guards do not
   * apply to gateways: the package's socket adapter enforces the same rules on every message
   * before any guard). The message's session was loaded by the adapter; the handler's access
   * level and freshness apply. No CSRF check: the handshake's Origin was checked.
   */
  protected canActivateSocketMessage(execution: ExecutionContext): boolean {
    const message = currentSocketMessage();
    const context =
      message?.socket === execution.switchToWs().getClient<object>()
        ? sessionContextOf(message)
        : undefined;
    // Without the package's adapter (socket.io, say) there is no session: public handlers only.
    if (!context) return this.canActivateOutsideHttp(execution);
    const rules = this.rulesOf(execution);
    if (rules.access !== 'authenticated') return true;
    const denial = authenticationDenial(context) ?? freshnessDenial(rules.freshAuthMaxAge, context);
    if (!denial) return true;
    context.refuse();
    throw new SessionUnauthorizedException(denial.code, denial.message);
  }

  /**
   * Handlers where no session can be loaded (microservices, GraphQL without an HTTP request,
   * sockets without the package's adapter): only a public handler runs (`@Public()` on the
   * handler or its class, or no decorator with `defaultAccess: 'public'`), with no session
   * loaded and no CSRF check.
   * Any other is refused with 403 `session_context_unsupported`: the guard never fails open.
   * A subclass may override this to support a context of its own.
   */
  protected canActivateOutsideHttp(execution: ExecutionContext): boolean {
    if (this.rulesOf(execution).access === 'public') return true;
    const handler = `${execution.getClass().name}.${execution.getHandler().name}`;
    throw new SessionContextUnsupportedException(execution.getType(), handler);
  }

  /**
   * The route's requirements: each decorator on the handler, then on the controller; the
   * access level falls back to the module's `defaultAccess`.
   */
  protected rulesOf(execution: ExecutionContext): RouteRules {
    const controller = execution.getClass();
    const handler = execution.getHandler();
    let byHandler = this.rulesByClass.get(controller);
    if (!byHandler) this.rulesByClass.set(controller, (byHandler = new WeakMap()));
    let rules = byHandler.get(handler);
    if (!rules) {
      const read = <T>(key: string) =>
        this.reflector.getAllAndOverride<T | undefined>(key, [handler, controller]);
      rules = {
        access: read<DefaultRouteAccess>(SESSION_ACCESS_KEY) ?? this.options.defaultAccess,
        skipCsrf: read<boolean>(SKIP_CSRF_KEY) === true,
        freshAuthMaxAge: read<number>(FRESH_AUTH_KEY),
      };
      byHandler.set(handler, rules);
    }
    return rules;
  }

  protected requireAuthentication(response: unknown, context: SessionContext): void {
    const denial = authenticationDenial(context);
    if (denial) this.deny(response, context, denial);
  }

  /**
   * CSRF protection of unsafe methods: the browser's Fetch-Metadata and Origin must not point
   * to another site, and the header must carry a token of this very session (a synchronizer
   * token: a cookie the attacker planted is never compared with anything).
   */
  protected verifyCsrf(request: SessionRequest, response: unknown, context: SessionContext): void {
    const method = (request.method ?? 'GET').toUpperCase();
    if (!this.options.csrf.enabled || SAFE_METHODS.has(method)) return;
    context.markCsrfChecked();
    const reason = csrfRejection(request, context, this.options.csrf, true);
    if (!reason) return;
    this.reportCsrfRejection(context, reason, method);
    this.refuse(
      response,
      context,
      reason === 'missing-token' || reason === 'invalid-token'
        ? new SessionForbiddenException(
            SessionDenialCode.CsrfTokenInvalid,
            `A valid CSRF token for this session is required in the ${this.options.csrf.header} header.`,
          )
        : new SessionForbiddenException(
            SessionDenialCode.CsrfOriginRejected,
            'This request comes from another site and was refused.',
          ),
    );
  }

  /** `@RequireFreshAuth()`: the last interactive sign-in must be recent enough. */
  protected requireFreshness(
    maxAge: number | undefined,
    response: unknown,
    context: SessionContext,
  ): void {
    const denial = freshnessDenial(maxAge, context);
    if (denial) this.deny(response, context, denial);
  }

  /** Refuses the request, clearing the cookie on this same response when it must go. */
  protected deny(response: unknown, context: SessionContext, denial: SessionDenial): never {
    this.refuse(response, context, new SessionUnauthorizedException(denial.code, denial.message));
  }

  /**
   * Answers with `exception`: the cookie actions decided so far go on this response, and
   * nothing of the session is saved for a request that never reached its handler.
   */
  protected refuse(response: unknown, context: SessionContext, exception: Error): never {
    this.headers.write(response, context);
    context.refuse();
    throw exception;
  }

  /**
   * Loads the request's session (with a remember-me restore, and its user when the app has a
   * loader) and attaches it to the request: at once when the loader has it at hand and nothing
   * else has to be waited for, the commonest request. Store failures surface as
   * `SessionStoreError`, itself a 503: the request fails closed.
   */
  private loadSession(request: SessionRequest): MaybePromise<SessionContext> {
    // The guard reads the request; the layers below get plain values.
    const cookies = request.headers.cookie;
    return andThen(
      this.loader.load(cookies, () => clientInfo(request)),
      (context) => {
        const restoring = this.rememberMe.restore(cookies, context);
        return restoring
          ? restoring.then(() => this.attach(request, context))
          : this.attach(request, context);
      },
    );
  }

  /** Attaches the loaded `context` to `request`, with its user when the app loads users. */
  private attach(request: SessionRequest, context: SessionContext): MaybePromise<SessionContext> {
    attachSessionContext(request, context, this.options.maxDataSize);
    if (!this.userLoader) return context;
    const userId = context.record?.userId;
    if (!userId) {
      setCurrentUser(request, null);
      return context;
    }
    return this.loadUser(this.userLoader, request, userId).then(() => context);
  }

  /**
   * Loads the user of a signed-in session with the app's `SessionUserLoader`, for
   * `@CurrentUser()` and `req.user`. A user the loader no longer finds (deleted, disabled) ends
   * the session as a logout does, and the request goes on as anonymous: `@Authenticated()`
   * routes then answer 401 `session_required` with a clearing cookie.
   */
  protected async loadUser(
    loader: SessionUserLoader,
    request: SessionRequest,
    userId: string,
  ): Promise<void> {
    const user = await loader.load(userId);
    if (user === null || user === undefined) {
      await this.sessions.logout(getSession(request));
      sessionContextOf(request)?.continueAnonymous();
      setCurrentUser(request, null);
      return;
    }
    setCurrentUser(request, user);
  }
}
