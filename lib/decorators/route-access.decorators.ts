import { SetMetadata } from '@nestjs/common';

/** Metadata key of the route access level read by the `SessionGuard`. */
export const SESSION_ACCESS_KEY = 'nest-session-security:access';

/**
 * Lets anonymous visitors use the route (or every route of the controller). The session is
 * still loaded and can be written (a lazy, anonymous session).
 *
 * @example
 * @Public()
 * @Get('cart')
 * cart(@CurrentSession() session: Session) { ... }
 */
export const Public = (): MethodDecorator & ClassDecorator =>
  SetMetadata(SESSION_ACCESS_KEY, 'public');

/**
 * Requires an authenticated session (the default unless `defaultAccess: 'public'`).
 *
 * @example
 * @Authenticated()
 * @Get('me')
 * me(@CurrentUserId() userId: string) { ... }
 */
export const Authenticated = (): MethodDecorator & ClassDecorator =>
  SetMetadata(SESSION_ACCESS_KEY, 'authenticated');
