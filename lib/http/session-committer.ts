import { HttpException, Injectable, InternalServerErrorException, Logger } from '@nestjs/common';
import { SessionWriter } from '../session/session-writer';
import { sessionContextOf, SessionRequest } from './session-request';
import { SessionResponder } from './session-responder';

/**
 * The step after the handler, run by the HTTP platform's response hook just before the response
 * goes out: writes what changed in the session and sets or clears its cookies.
 */
@Injectable()
export class SessionCommitter {
  private readonly logger = new Logger(SessionCommitter.name);

  constructor(
    private readonly writer: SessionWriter,
    private readonly responder: SessionResponder,
  ) {}

  /**
   * Persists the request's session and writes its headers onto `response`. Returns the error
   * to answer with instead when saving failed and the response was a success (a failed save
   * must not look like one); an error response goes out as it is.
   */
  async commit(
    request: SessionRequest,
    response: unknown,
    statusCode: number,
  ): Promise<HttpException | null> {
    const context = sessionContextOf(request);
    if (!context || context.refused) return null;
    let failure: HttpException | null = null;
    try {
      await this.writer.commit(context);
    } catch (error) {
      failure = error instanceof HttpException ? error : this.unexpected(error);
    }
    try {
      this.responder.apply(response, context);
    } catch (error) {
      failure ??= this.unexpected(error);
    }
    return failure && statusCode < 400 ? failure : null;
  }

  private unexpected(error: unknown): HttpException {
    this.logger.error(
      `Saving the session or writing its cookies failed: ${String(error)}`,
      error instanceof Error ? error.stack : undefined,
    );
    return new InternalServerErrorException();
  }
}
