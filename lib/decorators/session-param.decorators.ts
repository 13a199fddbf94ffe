import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { getSession } from '../lifecycle/session-request';
import { getCurrentUser } from '../user/current-user';
import { sessionCarrierOf } from './session-carrier';

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
  getSession(sessionCarrierOf(context)),
);

/**
 * Injects the authenticated user's ID, or `null` on an anonymous session. The ID is stored as
 * a string (whatever `SessionService.authenticate` was given); pass a pipe to convert it, as
 * with any Nest parameter: `ParseIntPipe` for numeric IDs, `ParseUUIDPipe` to check UUIDs. A
 * pipe sees `null` on anonymous sessions, so use it on `@Authenticated()` routes, or make it
 * optional (`new ParseIntPipe({ optional: true })`).
 *
 * @example
 * @Get('orders')
 * orders(@CurrentUserId() userId: string) { ... }
 *
 * @Get('invoices')
 * invoices(@CurrentUserId(ParseIntPipe) userId: number) { ... }
 */
export const CurrentUserId = createParamDecorator<undefined>(
  (_: undefined, context: ExecutionContext) => getSession(sessionCarrierOf(context)).userId,
);

/**
 * Injects the user of the request's session, as the app's `SessionUserLoader` loaded it when
 * the request arrived: the user object on routes that require authentication, `null` on an
 * anonymous session. Its type is the one the loader returns; declare the parameter with it.
 * Needs a `SessionUserLoader` provided in one of the app's modules (a `SessionUsageError`
 * otherwise).
 *
 * @example
 * @Get('profile')
 * profile(@CurrentUser() user: User) {
 *   return { name: user.name };
 * }
 */
export const CurrentUser = createParamDecorator<undefined>(
  (_: undefined, context: ExecutionContext) => getCurrentUser(sessionCarrierOf(context)),
);
