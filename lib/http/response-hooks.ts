import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server, ServerResponse } from 'node:http';
import { SessionPlatformError } from '../core/errors';
import { addExpressResponseHook } from './platform/express-response-hook';
import { addFastifyResponseHook } from './platform/fastify-response-hook';
import { reserveSlotsOnArrival } from './platform/express-slot-reservation';
import { SessionSaver } from './session-saver';
import { SessionRequest } from './client-request';

/**
 * Runs the {@link SessionSaver} from the HTTP platform's own response hook rather than a
 * global Nest interceptor: every global interceptor puts each request of the app through
 * Nest's RxJS pipeline, and moving the save out of it raised session reads by about 30% in
 * `npm run bench`. Express: the app's response prototype; Fastify: an `onSend` hook. Both
 * are added once, at start-up, before the server listens. On Express, the package's
 * properties are also reserved on each request and response as it reaches the HTTP server
 * (`reserveSlotsOnArrival`). Another HTTP adapter stops the start with a
 * {@link SessionPlatformError}; an application without HTTP (`createApplicationContext`) has
 * nothing to hook.
 */
@Injectable()
export class ResponseHooks implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly saver: SessionSaver,
  ) {}

  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter;
    if (!adapter) return;
    const type = adapter.getType();
    switch (type) {
      case 'express':
        this.hookExpress(adapter.getInstance() as { response: object }, adapter.getHttpServer());
        break;
      case 'fastify':
        addFastifyResponseHook(adapter.getInstance(), (request, reply) =>
          this.saver.save(request as SessionRequest, reply, reply.statusCode),
        );
        break;
      default:
        throw new SessionPlatformError(unsupportedAdapterMessage(type, adapter.constructor.name));
    }
  }

  private hookExpress(app: { response: object }, server: Server | undefined): void {
    addExpressResponseHook(app.response, (response: ServerResponse) =>
      this.saver.save(response.req as unknown as SessionRequest, response, response.statusCode),
    );
    // An adapter of the app's own may have no Node server to listen on.
    if (typeof server?.prependListener === 'function') reserveSlotsOnArrival(server);
  }
}

/** Says which adapter was found, which ones are supported, and why it matters. */
function unsupportedAdapterMessage(type: unknown, adapterClass: string): string {
  return [
    `SessionModule cannot save sessions through the HTTP adapter of type "${String(type)}" (${adapterClass}):`,
    'it hooks into the responses of the Express adapter (@nestjs/platform-express, the default) and',
    'the Fastify adapter (@nestjs/platform-fastify) only. Create the application with one of them,',
    'for example NestFactory.create(AppModule) or NestFactory.create(AppModule, new FastifyAdapter());',
    'an adapter of your own can extend ExpressAdapter or FastifyAdapter (its getType() then says',
    '"express" or "fastify").',
  ].join('\n');
}
