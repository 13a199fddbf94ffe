import { Injectable, NestMiddleware } from '@nestjs/common';
import { JsonTooDeepException, MAX_JSON_BODY_DEPTH, nestsDeeperThan } from './json-body';

/**
 * Express: refuses a parsed JSON body nested deeper than {@link MAX_JSON_BODY_DEPTH} before
 * guards, pipes and the handler run (class-transformer and class-validator recurse once per
 * level and overflow the call stack a few thousand levels down, a 500). Express parses with
 * `JSON.parse`, which takes any depth; an error thrown from body-parser's own hooks does not
 * reach Nest's exception filters on every Express version, a Nest middleware's does. On Fastify
 * middleware runs before the body is parsed, so this sees no body there; `limitJsonNesting`
 * refuses deep bodies in Fastify's parser instead.
 */
@Injectable()
export class JsonDepthMiddleware implements NestMiddleware {
  use(request: { body?: unknown }, _response: unknown, next: () => void): void {
    if (nestsDeeperThan(request.body, MAX_JSON_BODY_DEPTH)) throw new JsonTooDeepException();
    next();
  }
}
