import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ServerResponse } from 'node:http';
import { holdUntilCommitted } from './platform/express-commit-hook';
import { addFastifyCommitHook } from './platform/fastify-commit-hook';
import { SessionCommitter } from './session-committer';
import { sessionContextOf, SessionRequest } from './session-request';

/**
 * Runs the {@link SessionCommitter} from the HTTP platform's own response hook rather than a
 * global Nest interceptor: every global interceptor puts each request of the app through
 * Nest's RxJS pipeline, which cost about a third of the throughput of a session read in
 * `npm run bench`. Express: the guard holds each response it saw until the commit is done;
 * Fastify: one `onSend` hook, added at start-up.
 */
@Injectable()
export class SessionCommitHook implements OnModuleInit {
  private platform: string | undefined;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly committer: SessionCommitter,
  ) {}

  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter;
    this.platform = adapter?.getType();
    if (this.platform !== 'fastify') return;
    addFastifyCommitHook(
      adapter.getInstance(),
      (request) => sessionContextOf(request as SessionRequest) !== undefined,
      (request, reply) => this.committer.commit(request as SessionRequest, reply, reply.statusCode),
    );
  }

  /** Called by the guard once per request it attached a session to. */
  watch(request: SessionRequest, response: unknown): void {
    if (this.platform === 'fastify') return;
    holdUntilCommitted(response as ServerResponse, (statusCode) =>
      this.committer.commit(request, response, statusCode),
    );
  }
}
