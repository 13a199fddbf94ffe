import { ConfigurableModuleBuilder } from '@nestjs/common';
import { SessionModuleExtras, SessionModuleOptions } from './options/session-options';
import { storageProviders } from './storage/storage.providers';

export const {
  ConfigurableModuleClass: ConfigurableSessionModule,
  MODULE_OPTIONS_TOKEN: SESSION_MODULE_OPTIONS,
  OPTIONS_TYPE: SESSION_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: SESSION_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<SessionModuleOptions>({ moduleName: 'Session' })
  .setClassMethodName('forRoot')
  .setExtras<SessionModuleExtras>(
    { isGlobal: false, dataSource: undefined },
    (definition, extras) => ({
      ...definition,
      global: extras.isGlobal,
      providers: [...(definition.providers ?? []), ...storageProviders(extras.dataSource)],
    }),
  )
  .build();
