import { NotFoundException } from '@nestjs/common';

/**
 * 404 for a handle that is not one of the user's active sessions: unknown, already signed
 * out, or another user's (the answer does not tell which).
 */
export class SessionNotFoundException extends NotFoundException {
  constructor() {
    super({
      statusCode: 404,
      error: 'Not Found',
      code: 'session_not_found',
      message: 'You have no active session with this handle.',
    });
  }
}
