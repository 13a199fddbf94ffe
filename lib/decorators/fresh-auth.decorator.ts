import { applyDecorators, SetMetadata } from '@nestjs/common';
import { Duration, parseDuration } from '../core/duration';
import { Authenticated } from './route-access.decorators';

/** Metadata key of `@RequireFreshAuth()`: the largest age of the authentication, in ms. */
export const FRESH_AUTH_KEY = 'nest-session-security:fresh-auth';

/**
 * Requires an authenticated session whose user proved their identity interactively within
 * `maxAge` (a sign-in, not a remember-me cookie). Otherwise the request gets 401
 * `reauth_required`; after `SessionService.authenticate` again (which regenerates the ID) the
 * route works. Implies `@Authenticated()`.
 *
 * @example
 * @RequireFreshAuth('5m')
 * @Post('password')
 * changePassword(...) { ... }
 */
export function RequireFreshAuth(maxAge: Duration): MethodDecorator & ClassDecorator {
  return applyDecorators(
    Authenticated(),
    SetMetadata(FRESH_AUTH_KEY, parseDuration(maxAge, 'RequireFreshAuth(maxAge)')),
  );
}
