import { DynamicModule, INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { HttpAdapterName } from '../config/server.config';

/** Prefix of the JSON API; `GET /` stays outside it. */
const API_PREFIX = 'api';

/** Creates the app on Express or Fastify; the package and the routes are the same on both. */
export async function createSampleApp(
  module: DynamicModule,
  adapter: HttpAdapterName,
): Promise<INestApplication> {
  // Without abortOnError: false, Nest exits on a start-up error before main can stop the database.
  const options = { abortOnError: false };
  const app =
    adapter === 'fastify'
      ? await NestFactory.create(module, new FastifyAdapter(), options)
      : await NestFactory.create(module, options);
  app.setGlobalPrefix(API_PREFIX, { exclude: ['/'] });
  return app;
}
