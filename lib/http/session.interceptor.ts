import {
  CallHandler,
  ExecutionContext,
  HttpException,
  Injectable,
  Logger,
  NestInterceptor,
} from '@nestjs/common';
import { catchError, concatMap, from, Observable, throwError } from 'rxjs';
import { SessionStoreError } from '../core/errors';
import { SessionWriter } from '../session/session-writer';
import { SessionStoreUnavailableException } from './session.exceptions';
import { sessionContextOf, SessionRequest } from './session-request';
import { SessionResponder } from './session-responder';

/**
 * After the handler: writes what changed in the session and sets or clears the cookie,
 * before the response is sent. Registered globally by `SessionModule`; a request the
 * `SessionGuard` did not see passes through untouched.
 */
@Injectable()
export class SessionInterceptor implements NestInterceptor {
  private readonly logger = new Logger(SessionInterceptor.name);

  constructor(
    private readonly writer: SessionWriter,
    private readonly responder: SessionResponder,
  ) {}

  intercept(execution: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (execution.getType() !== 'http') return next.handle();
    const http = execution.switchToHttp();
    const request = http.getRequest<SessionRequest>();
    const finish = () => this.persist(request, http.getResponse());
    return next.handle().pipe(
      concatMap(async (body) => {
        await finish();
        return body;
      }),
      catchError((error: unknown) =>
        from(finish().catch(() => undefined)).pipe(
          concatMap(() => throwError(() => this.failClosed(error))),
        ),
      ),
    );
  }

  /**
   * A store failure inside the handler (for example in `SessionService.authenticate`) is a 503
   * like any other, never a 500 that could look like a bug to the client.
   */
  private failClosed(error: unknown): unknown {
    if (!(error instanceof SessionStoreError)) return error;
    this.logger.error(`Session store failed in a handler: ${error.message}`);
    return new SessionStoreUnavailableException();
  }

  private async persist(request: SessionRequest, response: unknown): Promise<void> {
    const context = sessionContextOf(request);
    if (!context) return;
    try {
      await this.writer.commit(context);
    } catch (error) {
      this.responder.apply(response, context);
      if (error instanceof HttpException) throw error;
      this.logger.error(`Session store failed while saving a session: ${String(error)}`);
      throw new SessionStoreUnavailableException();
    }
    this.responder.apply(response, context);
  }
}
