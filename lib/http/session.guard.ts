import { CanActivate, ExecutionContext, HttpException, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SESSION_ACCESS_KEY } from '../decorators/route-access.decorators';
import { DefaultRouteAccess } from '../options/session-options';
import { InjectSessionOptions } from '../options/session-options.provider';
import type { ResolvedSessionOptions } from '../options/resolve-session-options';
import { SessionContext, SessionDenial } from '../session/session-context';
import { SessionLoader } from '../session/session-loader';
import {
  SessionDenialCode,
  SessionStoreUnavailableException,
  SessionUnauthorizedException,
} from './session.exceptions';
import { attachSessionContext, sessionContextOf, SessionRequest } from './session-request';
import { SessionResponder } from './session-responder';

/**
 * Loads the request's session (strict mode, idle and absolute expiry, obsolete IDs), attaches
 * it to the request, and enforces the route's access level: `@Public()`, `@Authenticated()`,
 * or the module's `defaultAccess` (`'authenticated'` unless configured).
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
    @InjectSessionOptions() protected readonly options: ResolvedSessionOptions,
  ) {}

  async canActivate(execution: ExecutionContext): Promise<boolean> {
    if (execution.getType() !== 'http') return true;
    const http = execution.switchToHttp();
    const request = http.getRequest<SessionRequest>();
    const context = sessionContextOf(request) ?? (await this.loadSession(request));
    if (this.accessFor(execution) === 'public') return true;
    if (context.denial) this.deny(http.getResponse(), context, context.denial);
    if (!context.record?.userId) {
      this.deny(http.getResponse(), context, {
        code: SessionDenialCode.Required,
        message: 'Sign in to use this resource.',
      });
    }
    return true;
  }

  /** The access level of the route: handler metadata, then controller, then the default. */
  protected accessFor(execution: ExecutionContext): DefaultRouteAccess {
    return (
      this.reflector.getAllAndOverride<DefaultRouteAccess | undefined>(SESSION_ACCESS_KEY, [
        execution.getHandler(),
        execution.getClass(),
      ]) ?? this.options.defaultAccess
    );
  }

  /** Refuses the request, clearing the cookie on this same response when it must go. */
  protected deny(response: unknown, context: SessionContext, denial: SessionDenial): never {
    this.responder.apply(response, context);
    throw new SessionUnauthorizedException(denial.code, denial.message);
  }

  private async loadSession(request: SessionRequest): Promise<SessionContext> {
    let context: SessionContext;
    try {
      context = await this.loader.load(request);
    } catch (error) {
      if (error instanceof HttpException) throw error;
      this.logger.error(`Session store failed while loading a session: ${String(error)}`);
      throw new SessionStoreUnavailableException();
    }
    attachSessionContext(request, context, this.options.maxDataSize);
    return context;
  }
}
