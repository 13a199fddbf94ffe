import { DynamicModule, INestApplication } from '@nestjs/common';
import { AbstractHttpAdapter, NestFactory } from '@nestjs/core';
import { ExpressAdapter, NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { HttpAdapterName } from '../config/server.config';
import { useSessionSockets } from '../live/session-sockets';
import { limitJsonNesting } from './json-body';

/** Prefix of the JSON API; the web page at `/` and its `/favicon.ico` stay outside it. */
const API_PREFIX = 'api';
const OUTSIDE_API = ['/', 'favicon.ico'];

/** A new Express or Fastify adapter; the package and the routes are the same on both. */
export function createHttpAdapter(adapter: HttpAdapterName): AbstractHttpAdapter {
  return adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
}

/**
 * What every instance of the sample needs beyond its module graph. Shared by `main.ts` and
 * the tests, which build the app from a testing module (to replace the clock).
 */
export function configureSampleApp<T extends INestApplication>(app: T): T {
  app.setGlobalPrefix(API_PREFIX, { exclude: OUTSIDE_API });
  // Express announces itself by default; the platform is nobody's business.
  if (app.getHttpAdapter().getType() === 'express') {
    (app as unknown as NestExpressApplication).disable('x-powered-by');
  }
  limitJsonNesting(app);
  useSessionSockets(app);
  return app;
}

/** Creates the app on Express or Fastify. */
export async function createSampleApp(
  module: DynamicModule,
  adapter: HttpAdapterName,
): Promise<INestApplication> {
  // Without abortOnError: false, Nest exits on a start-up error before main can stop the database.
  const app = await NestFactory.create(module, createHttpAdapter(adapter), { abortOnError: false });
  return configureSampleApp(app);
}
