import { SessionModuleError } from '../core/errors';

/**
 * A `SessionTestClient` cannot do what the test asked: it is missing an option it needs, or the
 * application's CSRF route did not answer with a token.
 */
export class SessionTestClientError extends SessionModuleError {}
