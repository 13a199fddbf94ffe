import type {
  ClassProvider,
  ExistingProvider,
  FactoryProvider,
  ModuleMetadata,
  Provider,
  Type,
  ValueProvider,
} from '@nestjs/common';
import { RememberMeRepository } from './remember-me.repository';
import { SessionRepository } from './session.repository';

/**
 * How an application supplies one repository: a class that Nest constructs inside
 * `SessionModule` (its constructor dependencies injected), or a provider without `provide`
 * (`useClass`, `useFactory` with `inject`, `useExisting`, `useValue`). The abstract class is
 * the token it is bound to.
 */
export type RepositoryBinding<T> =
  | Type<T>
  | Omit<ClassProvider<T>, 'provide'>
  | Omit<FactoryProvider<T>, 'provide'>
  | Omit<ExistingProvider<T>, 'provide'>
  | Omit<ValueProvider<T>, 'provide'>;

/**
 * Stores that replace the package's PostgreSQL repositories, given beside the options of
 * `SessionModule.forRoot` / `forRootAsync` (never returned by a factory: they change the module
 * graph). Each one left out stays on PostgreSQL; with both given, no TypeORM data source is
 * needed. An implementation must pass the repository contract suite (see
 * `test/contract/` in the package's repository).
 *
 * @example
 * SessionModule.forRoot({
 *   idleTimeout: '30m',
 *   repositories: {
 *     imports: [RedisModule],
 *     session: RedisSessionRepository,
 *     rememberMe: { useFactory: (redis: Redis) => new RedisRememberMeRepository(redis), inject: [REDIS] },
 *   },
 * })
 */
export interface SessionRepositories {
  /** The store of sessions. Default: `PostgresSessionRepository` on the module's data source. */
  session?: RepositoryBinding<SessionRepository>;
  /** The store of remember-me tokens. Default: `PostgresRememberMeRepository`. */
  rememberMe?: RepositoryBinding<RememberMeRepository>;
  /**
   * Modules that export what the repositories inject (the application's own services), added
   * to `SessionModule`'s imports. `forRootAsync`'s own `imports` serve as well.
   */
  imports?: ModuleMetadata['imports'];
}

/** The provider of `token` from an application's binding. */
export function boundRepository<T>(
  token: abstract new (...args: never[]) => T,
  binding: RepositoryBinding<T>,
): Provider {
  return typeof binding === 'function'
    ? { provide: token, useClass: binding }
    : ({ ...binding, provide: token } as Provider);
}
