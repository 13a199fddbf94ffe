import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import {
  SessionModule,
  SessionModuleError,
  SessionPlatformError,
  SessionService,
} from 'nest-session-security';
import { storageOptions, typeOrmRoot } from './support/test-app';

/** An HTTP adapter of a kind the package does not know (built on Express to stay small). */
class KoaLikeAdapter extends ExpressAdapter {
  override getType(): string {
    return 'koa';
  }
}

@Module({ imports: [typeOrmRoot(), SessionModule.forRoot(storageOptions())] })
class AppModule {}

describe('issue 14 an HTTP adapter that is neither Express nor Fastify stops the start', () => {
  it('SessionPlatformError names the adapter and the supported ones', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = moduleRef.createNestApplication(new KoaLikeAdapter(), { logger: false });
    const error = (await app.init().then(
      () => undefined,
      (failure: unknown) => failure,
    )) as Error;
    await app.close().catch(() => undefined);
    expect(error).toBeInstanceOf(SessionPlatformError);
    expect(error).toBeInstanceOf(SessionModuleError);
    expect(error.name).toBe('SessionPlatformError');
    expect(error.message).toContain('"koa" (KoaLikeAdapter)');
    expect(error.message).toContain('@nestjs/platform-express');
    expect(error.message).toContain('@nestjs/platform-fastify');
  });

  it('an application without HTTP (createApplicationContext) starts and uses sessions', async () => {
    const context = await NestFactory.createApplicationContext(AppModule, { logger: false });
    try {
      expect(context.get(SessionService)).toBeInstanceOf(SessionService);
    } finally {
      await context.close();
    }
  });
});
