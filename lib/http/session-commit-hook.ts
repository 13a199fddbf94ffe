import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ServerResponse } from 'node:http';
import { addExpressCommitHook } from './platform/express-commit-hook';
import { addFastifyCommitHook } from './platform/fastify-commit-hook';
import { SessionCommitter } from './session-committer';
import { SessionRequest } from './session-request';

/**
 * Runs the {@link SessionCommitter} from the HTTP platform's own response hook rather than a
 * global Nest interceptor: every global interceptor puts each request of the app through
 * Nest's RxJS pipeline, and moving the save out of it raised session reads by about 30% in
 * `npm run bench`. Express: the app's response prototype; Fastify: an `onSend` hook. Both
 * are added once, at start-up, before the server listens.
 */
@Injectable()
export class SessionCommitHook implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly committer: SessionCommitter,
  ) {}

  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter;
    switch (adapter?.getType()) {
      case 'express':
        addExpressCommitHook(
          (adapter.getInstance() as { response: object }).response,
          (response: ServerResponse) =>
            this.committer.commit(
              response.req as unknown as SessionRequest,
              response,
              response.statusCode,
            ),
        );
        break;
      case 'fastify':
        addFastifyCommitHook(adapter.getInstance(), (request, reply) =>
          this.committer.commit(request as SessionRequest, reply, reply.statusCode),
        );
        break;
    }
  }
}
