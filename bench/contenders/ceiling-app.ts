/**
 * The ceiling's application: Nest on Express with no session and no database, the same routes as
 * the other contenders. `providers` are added to its module: the no-op interceptor contender
 * passes one global interceptor, the ceiling itself none. With `readParameter`, the read route
 * takes its answer from one custom parameter decorator, as a session package's read route takes
 * the user (`@CurrentUserId()`): Nest then puts the handler's arguments through its pipe
 * machinery on every request, which a route without parameters skips.
 */
import 'reflect-metadata';
import {
  Controller,
  createParamDecorator,
  ExecutionContext,
  Get,
  HttpCode,
  Module,
  Post,
  Provider,
  Type,
} from '@nestjs/common';
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

/** The request's path, read as a session decorator reads the request's session. */
export const RequestPath = createParamDecorator(
  (_: unknown, context: ExecutionContext) =>
    context.switchToHttp().getRequest<{ path: string }>().path,
);

@Controller()
class ParameterController {
  @Get('read')
  read(@RequestPath() path: string) {
    return { userId: path === '/read' ? 'reader' : path };
  }
}

export async function serveCeiling(
  providers: Provider[],
  { readParameter = false } = {},
): Promise<void> {
  const controller: Type = readParameter ? ParameterController : CeilingController;
  @Module({ controllers: [controller], providers })
  class CeilingModule {}

  countStatements();
  const app = await NestFactory.create(CeilingModule, { logger: ['error'] });
  await serve(app);
}
