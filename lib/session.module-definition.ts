import { ConfigurableModuleBuilder } from '@nestjs/common';
import { SessionModuleExtras, SessionModuleOptions } from './options/session-options';
import { SessionRepositories } from './storage/repository-bindings';
import { storageProviders } from './storage/storage.providers';
import { listenClientsProvider } from './storage/listen-clients';
import { sessionCacheProvider } from './storage/session-cache.provider';

/**
 * What is given beside the options of `forRoot` / `forRootAsync` because it shapes the module
 * graph: `isGlobal`, `dataSource`, and the `repositories` that replace the PostgreSQL ones.
 */
export interface SessionModuleDefinitionExtras extends SessionModuleExtras {
  /** Stores of the application's own in place of PostgreSQL. Default: none. */
  repositories?: SessionRepositories;
}

export const {
  ConfigurableModuleClass: ConfigurableSessionModule,
  MODULE_OPTIONS_TOKEN: SESSION_MODULE_OPTIONS,
  OPTIONS_TYPE: SESSION_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: SESSION_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<SessionModuleOptions>({ moduleName: 'Session' })
  .setClassMethodName('forRoot')
  .setExtras<SessionModuleDefinitionExtras>(
    // Every extra has a key here: the builder strips these keys from the options it provides.
    { isGlobal: false, dataSource: undefined, repositories: undefined },
    (definition, extras) => ({
      ...definition,
      global: extras.isGlobal,
      imports: [...(definition.imports ?? []), ...(extras.repositories?.imports ?? [])],
      providers: [
        ...(definition.providers ?? []),
        ...storageProviders(extras.dataSource, extras.repositories),
        listenClientsProvider(extras.dataSource),
        sessionCacheProvider(extras.dataSource),
      ],
    }),
  )
  .build();
