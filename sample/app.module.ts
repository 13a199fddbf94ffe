import { DynamicModule, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { ConfigModule, ConfigType } from '@nestjs/config';
import { APP_GUARD, APP_PIPE } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SessionGuard, SessionModule } from 'nest-session-security';
import { SecurityEventLog } from './audit/security-event-log';
import { AuthModule } from './auth/auth.module';
import { CartModule } from './cart/cart.module';
import { HttpAdapterName } from './config/server.config';
import { sessionConfig } from './config/session.config';
import { CsrfModule } from './csrf/csrf.module';
import { dataSourceOptions } from './database/data-source.options';
import { GraphqlDriverOverrides, sampleGraphqlModule } from './graphql/sample-graphql.module';
import { HomeModule } from './home/home.module';
import { JsonDepthMiddleware } from './http/json-depth.middleware';
import { createValidationPipe } from './http/validation.pipe';
import { LiveModule } from './live/live.module';
import { SessionsModule } from './sessions/sessions.module';

/** What the module graph depends on that is known only at start-up. */
export interface AppModuleSetup {
  /**
   * The PostgreSQL server. An argument rather than configuration because the embedded server's
   * port is known only once it has started.
   */
  databaseUrl: string;
  /** False on the embedded server (see `DatabaseConnection`). Default true. */
  preparedStatements?: boolean;
  /** The HTTP platform, which decides the GraphQL driver (Apollo or Mercurius). */
  adapter: HttpAdapterName;
  /** Options for the GraphQL driver on top of the sample's (see `sampleGraphqlModule`). */
  graphqlDriver?: GraphqlDriverOverrides;
}

@Module({})
export class AppModule implements NestModule {
  /** Deep JSON bodies are refused before anything recurses into them (Express; see the class). */
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(JsonDepthMiddleware).forRoutes('*');
  }

  /** The application on the PostgreSQL server at `databaseUrl`, for the `adapter` platform. */
  static register({
    databaseUrl,
    preparedStatements = true,
    adapter,
    graphqlDriver,
  }: AppModuleSetup): DynamicModule {
    return {
      module: AppModule,
      imports: [
        // The environment is the only source: no .env file is read behind the user's back.
        ConfigModule.forRoot({ ignoreEnvFile: true }),
        TypeOrmModule.forRoot(dataSourceOptions(databaseUrl)),
        SessionModule.forRootAsync({
          // Global, so feature modules can inject SessionService without importing it.
          isGlobal: true,
          imports: [ConfigModule.forFeature(sessionConfig)],
          inject: [sessionConfig.KEY],
          useFactory: (options: ConfigType<typeof sessionConfig>) => ({
            ...options,
            preparedStatements,
          }),
        }),
        AuthModule,
        SessionsModule,
        CsrfModule,
        CartModule,
        HomeModule,
        sampleGraphqlModule(adapter, graphqlDriver),
        LiveModule,
      ],
      providers: [
        // Every route, resolver and gateway needs a signed-in user unless it says @Public().
        { provide: APP_GUARD, useClass: SessionGuard },
        { provide: APP_PIPE, useFactory: createValidationPipe },
        // Every session event of the package, logged for a security team (context SecurityEvents).
        SecurityEventLog,
      ],
    };
  }
}
