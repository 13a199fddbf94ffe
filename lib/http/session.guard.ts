import { CanActivate, ExecutionContext, HttpException, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { checkProvenance } from '../csrf/request-origin';
import { verifyCsrfToken } from '../csrf/csrf-token';
import { SKIP_CSRF_KEY } from '../decorators/csrf.decorators';
import { FRESH_AUTH_KEY } from '../decorators/fresh-auth.decorator';
import { SESSION_ACCESS_KEY } from '../decorators/route-access.decorators';
import { describeSession, SessionEvents } from '../events/session-events';
import { CsrfRejectedEvent } from '../events/session-event';
import { DefaultRouteAccess } from '../options/session-options';
import { InjectSessionOptions } from '../options/session-options.provider';
import type { ResolvedSessionOptions } from '../options/resolve-session-options';
import { RememberMeService } from '../remember-me/remember-me.service';
import { SessionContext, SessionDenial } from '../session/session-context';
import { SessionLoader } from '../session/session-loader';
import {
  SessionDenialCode,
  SessionForbiddenException,
  SessionStoreUnavailableException,
  SessionUnauthorizedException,
} from './session.exceptions';
import { attachSessionContext, sessionContextOf, SessionRequest } from './session-request';
import { SessionResponder } from './session-responder';

/** Methods that must not change state, so they need no CSRF token. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

function header(request: SessionRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Loads the request's session (strict mode, idle and absolute expiry, obsolete IDs), attaches
 * it to the request, and enforces the route's requirements: the access level (`@Public()`,
 * `@Authenticated()`, or the module's `defaultAccess`), CSRF on unsafe methods (unless
 * `@SkipCsrf()`), and `@RequireFreshAuth()`.
 *
 * @example
 * // every route, globally:
 * providers: [{ provide: APP_GUARD, useClass: SessionGuard }]
 * // or one controller:
 * @UseGuards(SessionGuard)
 */
@Injectable()
export class SessionGuard implements CanActivate {
  private readonly logger = new Logger(SessionGuard.name);

  constructor(
    protected readonly reflector: Reflector,
    protected readonly loader: SessionLoader,
    protected readonly responder: SessionResponder,
    protected readonly events: SessionEvents,
    protected readonly rememberMe: RememberMeService,
    @InjectSessionOptions() protected readonly options: ResolvedSessionOptions,
  ) {}

  async canActivate(execution: ExecutionContext): Promise<boolean> {
    if (execution.getType() !== 'http') return true;
    const http = execution.switchToHttp();
    const request = http.getRequest<SessionRequest>();
    const response = http.getResponse<unknown>();
    const context = sessionContextOf(request) ?? (await this.loadSession(request));
    const authenticated = this.accessFor(execution) === 'authenticated';
    if (authenticated) this.requireAuthentication(response, context);
    this.verifyCsrf(execution, request, response, context);
    if (authenticated) this.requireFreshness(execution, response, context);
    return true;
  }

  /** The access level of the route: handler metadata, then controller, then the default. */
  protected accessFor(execution: ExecutionContext): DefaultRouteAccess {
    return (
      this.metadata<DefaultRouteAccess>(SESSION_ACCESS_KEY, execution) ?? this.options.defaultAccess
    );
  }

  protected requireAuthentication(response: unknown, context: SessionContext): void {
    if (context.denial) this.deny(response, context, context.denial);
    if (!context.record?.userId) {
      this.deny(response, context, {
        code: SessionDenialCode.Required,
        message: 'Sign in to use this resource.',
      });
    }
  }

  /**
   * CSRF protection of unsafe methods: the browser's Fetch-Metadata and Origin must not point
   * to another site, and the header must carry a token of this very session (a synchronizer
   * token: a cookie the attacker planted is never compared with anything).
   */
  protected verifyCsrf(
    execution: ExecutionContext,
    request: SessionRequest,
    response: unknown,
    context: SessionContext,
  ): void {
    const method = (request.method ?? 'GET').toUpperCase();
    if (!this.options.csrf.enabled || SAFE_METHODS.has(method)) return;
    if (this.metadata<boolean>(SKIP_CSRF_KEY, execution)) return;
    context.csrfChecked = true;
    const provenance = checkProvenance(
      {
        secFetchSite: header(request, 'sec-fetch-site'),
        origin: header(request, 'origin'),
        host: header(request, 'host'),
      },
      this.options.csrf.trustedOrigins,
    );
    const token = header(request, this.options.csrf.header);
    const secret = context.record?.csrfSecret ?? null;
    let reason: CsrfRejectedEvent['reason'] | null = provenance;
    if (!reason && !verifyCsrfToken(token, secret))
      reason = token ? 'invalid-token' : 'missing-token';
    if (!reason) return;
    this.events.emit({
      type: 'csrf.rejected',
      at: context.loadedAt,
      request: context.client,
      reason,
      method,
      session: context.record ? describeSession(context.record) : null,
    });
    this.responder.apply(response, context);
    throw provenance
      ? new SessionForbiddenException(
          SessionDenialCode.CsrfOriginRejected,
          'This request comes from another site and was refused.',
        )
      : new SessionForbiddenException(
          SessionDenialCode.CsrfTokenInvalid,
          `A valid CSRF token for this session is required in the ${this.options.csrf.header} header.`,
        );
  }

  /** `@RequireFreshAuth()`: the last interactive sign-in must be recent enough. */
  protected requireFreshness(
    execution: ExecutionContext,
    response: unknown,
    context: SessionContext,
  ): void {
    const maxAge = this.metadata<number>(FRESH_AUTH_KEY, execution);
    if (maxAge === undefined) return;
    const authenticatedAt = context.record?.authenticatedAt;
    if (authenticatedAt && context.loadedAt.getTime() - authenticatedAt.getTime() <= maxAge) return;
    this.deny(response, context, {
      code: SessionDenialCode.ReauthRequired,
      message: 'Confirm your identity again to continue.',
    });
  }

  /** Refuses the request, clearing the cookie on this same response when it must go. */
  protected deny(response: unknown, context: SessionContext, denial: SessionDenial): never {
    this.responder.apply(response, context);
    throw new SessionUnauthorizedException(denial.code, denial.message);
  }

  private metadata<T>(key: string, execution: ExecutionContext): T | undefined {
    return this.reflector.getAllAndOverride<T | undefined>(key, [
      execution.getHandler(),
      execution.getClass(),
    ]);
  }

  private async loadSession(request: SessionRequest): Promise<SessionContext> {
    let context: SessionContext;
    try {
      context = await this.loader.load(request);
      await this.rememberMe.restore(request, context);
    } catch (error) {
      if (error instanceof HttpException) throw error;
      this.logger.error(`Session store failed while loading a session: ${String(error)}`);
      throw new SessionStoreUnavailableException();
    }
    attachSessionContext(request, context, this.options.maxDataSize);
    return context;
  }
}
