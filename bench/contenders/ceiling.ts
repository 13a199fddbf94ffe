/** Ceiling: Nest on Express with no session and no database. */
import 'reflect-metadata';
import { Controller, Get, Module, Post, HttpCode } from '@nestjs/common';
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

@Module({ controllers: [CeilingController] })
class CeilingModule {}

async function main() {
  countStatements();
  const app = await NestFactory.create(CeilingModule, { logger: ['error'] });
  await serve(app);
}

void main();
