/**
 * The ceiling plus one global interceptor that does nothing but hand the request on: what
 * putting every request through Nest's interceptor pipeline (RxJS) costs on its own, the cost a
 * session package pays when it saves from a global interceptor rather than from the platform's
 * response hook.
 */
import 'reflect-metadata';
import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { Observable } from 'rxjs';
import { serveCeiling } from './ceiling-app';

@Injectable()
class NoopInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle();
  }
}

void serveCeiling([{ provide: APP_INTERCEPTOR, useClass: NoopInterceptor }]);
