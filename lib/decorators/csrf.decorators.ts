import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { sessionCarrierOf } from './session-carrier';
import { getSession } from '../lifecycle/session-request';
import { CsrfService } from '../csrf/csrf.service';

/** Metadata key of `@SkipCsrf()`. */
export const SKIP_CSRF_KEY = 'nest-session-security:skip-csrf';

/**
 * Exempts an unsafe route (or a controller) from the CSRF check: for endpoints that do not
 * act on the session cookie's authority, such as webhooks authenticated by a signature.
 *
 * @example
 * @SkipCsrf()
 * @Post('webhooks/payments')
 * payment(@Body() event: PaymentEvent) { ... }
 */
export const SkipCsrf = (): MethodDecorator & ClassDecorator => SetMetadata(SKIP_CSRF_KEY, true);

const tokens = new CsrfService();

/**
 * Injects a fresh CSRF token for the request's session (see `CsrfService.token`).
 *
 * @example
 * @Public()
 * @Get('csrf')
 * csrf(@CsrfToken() token: string) {
 *   return { token };
 * }
 */
export const CsrfToken = createParamDecorator((_: unknown, context: ExecutionContext) =>
  tokens.token(getSession(sessionCarrierOf(context))),
);
