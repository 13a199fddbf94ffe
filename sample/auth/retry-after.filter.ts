import { ArgumentsHost, Catch } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { SignInThrottledException } from './sign-in-throttled.exception';

/**
 * Adds `Retry-After` to a 429 `sign_in_throttled`, then answers as Nest always does. Written
 * through the HTTP adapter, so it works on Express and Fastify alike. Use it as a class
 * (`@UseFilters(RetryAfterFilter)`), so that Nest gives it the adapter.
 */
@Catch(SignInThrottledException)
export class RetryAfterFilter extends BaseExceptionFilter {
  override catch(exception: SignInThrottledException, host: ArgumentsHost): void {
    const adapter = this.applicationRef ?? this.httpAdapterHost?.httpAdapter;
    const response: unknown = host.switchToHttp().getResponse();
    adapter?.setHeader(response, 'Retry-After', String(exception.retryAfterSeconds));
    super.catch(exception, host);
  }
}
