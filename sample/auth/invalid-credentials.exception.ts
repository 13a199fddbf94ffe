import { UnauthorizedException } from '@nestjs/common';

/**
 * 401 for a failed sign-in or a wrong current password. At sign-in, one message for an
 * unknown user and a wrong password, so the answer does not tell which usernames exist;
 * `code` follows the package's denial bodies.
 */
export class InvalidCredentialsException extends UnauthorizedException {
  constructor(message = 'Unknown username or wrong password.') {
    super({ statusCode: 401, error: 'Unauthorized', code: 'invalid_credentials', message });
  }
}
