import { CanActivate, Injectable } from '@nestjs/common';
import {
  ApplicationConfig,
  DiscoveryService,
  HttpAdapterHost,
  MetadataScanner,
  ModuleRef,
  Reflector,
} from '@nestjs/core';
import { SessionGuard } from '../http/session.guard';

/**
 * The metadata key `@UseGuards()` writes (`GUARDS_METADATA` in `@nestjs/common/constants`),
 * spelled out: the main entry of `@nestjs/common` does not export it, and a deep import is
 * resolved differently by Nest 11 (CommonJS files) and Nest 12 (an ESM exports map).
 */
const GUARDS_METADATA = '__guards__';

/** A guard as Nest keeps it: a class given to `@UseGuards`, or an instance. */
function isSessionGuard(guard: unknown): boolean {
  if (guard instanceof SessionGuard) return true;
  return (
    typeof guard === 'function' &&
    (guard === SessionGuard || guard.prototype instanceof SessionGuard)
  );
}

/**
 * Where Nest keeps the global guards: `APP_GUARD` providers and `app.useGlobalGuards()` both
 * end in the application's config, which is reachable only through the container behind
 * `ModuleRef` (no public accessor). `undefined` when a future Nest moves it: the check then
 * stays silent rather than warning about a guard it cannot see.
 */
function applicationConfigOf(moduleRef: ModuleRef): ApplicationConfig | undefined {
  const container = (moduleRef as unknown as { container?: { applicationConfig?: unknown } })
    .container;
  const config = container?.applicationConfig as Partial<ApplicationConfig> | undefined;
  return typeof config?.getGlobalGuards === 'function' &&
    typeof config.getGlobalRequestGuards === 'function'
    ? (config as ApplicationConfig)
    : undefined;
}

/**
 * Tells whether the application registers the {@link SessionGuard} (or a subclass) anywhere:
 * globally (`APP_GUARD`, `app.useGlobalGuards`) or with `@UseGuards` on a controller, a
 * resolver or gateway, or one of their methods. Read once the application is initialised.
 */
@Injectable()
export class GuardRegistration {
  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  /**
   * True when the application serves HTTP routes and no SessionGuard is registered; false
   * too when it cannot tell (no HTTP server, as in a standalone application context).
   */
  isMissing(): boolean {
    if (!this.adapterHost.httpAdapter) return false;
    const controllers = this.discovery.getControllers();
    if (controllers.length === 0) return false;
    const config = applicationConfigOf(this.moduleRef);
    if (!config) return false;
    const global: unknown[] = [
      ...config.getGlobalGuards(),
      ...config.getGlobalRequestGuards().map((wrapper) => wrapper.metatype),
    ];
    if (global.some(isSessionGuard)) return false;
    const hosts = [...controllers, ...this.discovery.getProviders()];
    return !hosts.some((wrapper) => this.usesSessionGuard(wrapper));
  }

  private usesSessionGuard(wrapper: { metatype: unknown }): boolean {
    const type = wrapper.metatype;
    if (typeof type !== 'function') return false;
    if (this.guardsOn(type).some(isSessionGuard)) return true;
    const prototype = (type as { prototype?: object }).prototype ?? null;
    if (!prototype) return false;
    return this.scanner.getAllMethodNames(prototype).some((name) => {
      const method = (prototype as Record<string, unknown>)[name];
      return typeof method === 'function' && this.guardsOn(method).some(isSessionGuard);
    });
  }

  private guardsOn(target: object): (CanActivate | (abstract new (...args: never[]) => unknown))[] {
    return this.reflector.get(GUARDS_METADATA, target as never) ?? [];
  }
}
