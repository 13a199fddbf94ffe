import { DynamicModule, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { ConfigModule, ConfigType } from '@nestjs/config';
import { APP_GUARD, APP_PIPE } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SessionGuard, SessionModule } from 'nest-session-security';
import { SecurityEventLog } from './audit/security-event-log';
import { AuthModule } from './auth/auth.module';
import { CartModule } from './cart/cart.module';
import { sessionConfig } from './config/session.config';
import { CsrfModule } from './csrf/csrf.module';
import { dataSourceOptions } from './database/data-source.options';
import { HomeModule } from './home/home.module';
import { JsonDepthMiddleware } from './http/json-depth.middleware';
import { createValidationPipe } from './http/validation.pipe';
import { SessionsModule } from './sessions/sessions.module';

@Module({})
export class AppModule implements NestModule {
  /** Deep JSON bodies are refused before anything recurses into them (Express; see the class). */
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(JsonDepthMiddleware).forRoutes('*');
  }

  /**
   * The application on the PostgreSQL server at `databaseUrl`. The URL is an argument rather
   * than configuration because the embedded server's port is known only once it has started;
   * `preparedStatements` is false on that server (see `DatabaseConnection`).
   */
  static register(databaseUrl: string, preparedStatements = true): DynamicModule {
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
      ],
      providers: [
        // Every route needs a signed-in user unless it says @Public().
        { provide: APP_GUARD, useClass: SessionGuard },
        { provide: APP_PIPE, useFactory: createValidationPipe },
        // Every session event of the package, logged for a security team (context SecurityEvents).
        SecurityEventLog,
      ],
    };
  }
}
