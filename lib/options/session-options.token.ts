import { Inject } from '@nestjs/common';

/*
 * The token of the resolved options, in a file that imports nothing else from the package, so
 * that any folder may inject the options without depending on how the module is built.
 */

/** Internal: the token of `ResolvedSessionOptions` (use `InjectSessionOptions()`). */
export const RESOLVED_SESSION_OPTIONS = Symbol('nest-session-security:resolved-options');

/**
 * Injects the module's options after validation and defaults (`ResolvedSessionOptions`).
 *
 * @example
 * constructor(@InjectSessionOptions() private readonly options: ResolvedSessionOptions) {}
 */
export const InjectSessionOptions = (): ParameterDecorator => Inject(RESOLVED_SESSION_OPTIONS);
