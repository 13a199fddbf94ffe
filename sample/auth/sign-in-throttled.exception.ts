import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * 429 `sign_in_throttled`: too many failed sign-ins for this username or from this address.
 * One message for both, so the answer does not say which usernames were tried. The
 * `Retry-After` header (seconds) is set by `RetryAfterFilter`.
 */
export class SignInThrottledException extends HttpException {
  constructor(readonly retryAfterSeconds: number) {
    const minutes = Math.ceil(retryAfterSeconds / 60);
    super(
      {
        statusCode: HttpStatus.TOO_MANY_REQUESTS,
        error: 'Too Many Requests',
        code: 'sign_in_throttled',
        message: `Too many failed sign-ins. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}
