/**
 * The ceiling's application: Nest on Express with no session and no database, the same routes as
 * the other contenders. `providers` are added to its module: the no-op interceptor contender
 * passes one global interceptor, the ceiling itself none.
 */
import 'reflect-metadata';
import { Controller, Get, HttpCode, Module, Post, Provider } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { countStatements, serve } from './harness';

@Controller()
class CeilingController {
  @Get('read')
  read() {
    return { userId: 'reader' };
  }

  @Post('write')
  @HttpCode(200)
  write() {
    return { ok: true };
  }
}

export async function serveCeiling(providers: Provider[]): Promise<void> {
  @Module({ controllers: [CeilingController], providers })
  class CeilingModule {}

  countStatements();
  const app = await NestFactory.create(CeilingModule, { logger: ['error'] });
  await serve(app);
}
