import { HttpException, Injectable, InternalServerErrorException, Logger } from '@nestjs/common';
import { SessionContext } from '../lifecycle/session-context';
import { SessionWriter } from '../lifecycle/session-writer';
import { sessionContextOf } from '../lifecycle/session-request';
import { SessionRequest } from './client-request';
import { SessionResponseHeaders } from './response-headers';

/** What a response must become after the save: itself (`null`) or this error. */
export type SaveOutcome = HttpException | null;

/**
 * The step after the handler, run by the HTTP platform's response hook just before the response
 * goes out: writes what changed in the session and sets or clears its cookies.
 */
@Injectable()
export class SessionSaver {
  private readonly logger = new Logger(SessionSaver.name);

  constructor(
    private readonly writer: SessionWriter,
    private readonly headers: SessionResponseHeaders,
  ) {}

  /**
   * Persists the request's session and writes its headers onto `response`. The outcome is the
   * error to answer with instead when saving failed and the response was a success (a failed
   * save must not look like one); an error response goes out as it is. Synchronous when there
   * is nothing to save, as for most reads, so the response is not held at all. Once per
   * request: later calls (the next chunk of a streamed body) return `null`.
   */
  save(
    request: SessionRequest,
    response: unknown,
    statusCode: number,
  ): SaveOutcome | Promise<SaveOutcome> {
    const context = sessionContextOf(request);
    if (!context?.startSave()) return null;
    if (!this.writer.needsWrite(context)) return this.finish(response, context, null, statusCode);
    return this.writer.persist(context).then(
      () => this.finish(response, context, null, statusCode),
      (error: unknown) =>
        this.finish(
          response,
          context,
          error instanceof HttpException ? error : this.unexpected(error),
          statusCode,
        ),
    );
  }

  private finish(
    response: unknown,
    context: SessionContext,
    failure: HttpException | null,
    statusCode: number,
  ): SaveOutcome {
    try {
      this.headers.write(response, context);
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
