import { Inject, Provider } from '@nestjs/common';
import { SESSION_MODULE_OPTIONS } from '../session.module-definition';
import { SessionModuleOptions } from './session-options';
import { resolveSessionOptions } from './resolve-session-options';

const RESOLVED_SESSION_OPTIONS = Symbol('nest-session-security:resolved-options');

/** Validates the options and applies defaults once, when the module starts. */
export const resolvedSessionOptionsProvider: Provider = {
  provide: RESOLVED_SESSION_OPTIONS,
  useFactory: (options: SessionModuleOptions) => resolveSessionOptions(options),
  inject: [SESSION_MODULE_OPTIONS],
};

/**
 * Injects the module's options after validation and defaults (`ResolvedSessionOptions`).
 *
 * @example
 * constructor(@InjectSessionOptions() private readonly options: ResolvedSessionOptions) {}
 */
export const InjectSessionOptions = (): ParameterDecorator => Inject(RESOLVED_SESSION_OPTIONS);

export { RESOLVED_SESSION_OPTIONS };
