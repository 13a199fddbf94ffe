import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { getSession } from '../http/session-request';

/**
 * Injects the request's session object (`Session`). Named so as not to clash with
 * `@Session()` of `@nestjs/common`, which injects the express-session object.
 *
 * @example
 * @Get('me')
 * me(@CurrentSession() session: Session) {
 *   return { handle: session.handle };
 * }
 */
export const CurrentSession = createParamDecorator((_: unknown, context: ExecutionContext) =>
  getSession(context.switchToHttp().getRequest()),
);

/**
 * Injects the authenticated user's ID (a string), or `null` on an anonymous session.
 *
 * @example
 * @Get('orders')
 * orders(@CurrentUserId() userId: string) { ... }
 */
export const CurrentUserId = createParamDecorator(
  (_: unknown, context: ExecutionContext) => getSession(context.switchToHttp().getRequest()).userId,
);
