import { BadRequestException, INestApplication } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Server } from 'node:http';
import { parse as parseQueryString } from 'node:querystring';

/**
 * How many arrays and objects a JSON request body may nest. The sample's bodies are flat (1);
 * 32 is the bound the package puts on session data (`MAX_SESSION_DATA_DEPTH`), so whatever a
 * body may carry a session may store. Deeper bodies are refused before they are parsed: the
 * validation pipe (class-transformer, class-validator) recurses once per level and overflows the
 * call stack on a few kilobytes of `[[[[...]]]]`, which answered 500.
 */
export const MAX_JSON_BODY_DEPTH = 32;

const OPEN_ARRAY = 0x5b; // [
const OPEN_OBJECT = 0x7b; // {
const CLOSE_ARRAY = 0x5d; // ]
const CLOSE_OBJECT = 0x7d; // }
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * Whether the JSON text in `bytes` nests arrays and objects more than `limit` deep, read in one
 * pass without parsing (brackets inside strings do not count; every byte of a multi-byte UTF-8
 * character is above 0x7f, so scanning bytes is exact). Malformed JSON is left to the parser.
 */
export function jsonNestsDeeperThan(bytes: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < bytes.length; index++) {
    const byte = bytes[index];
    if (inString) {
      if (byte === BACKSLASH) index++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      if (++depth > limit) return true;
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
      depth--;
    }
  }
  return false;
}

/**
 * Whether a parsed value nests arrays and objects more than `limit` deep, walked with an
 * explicit stack (never recursion).
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (typeof next.value !== 'object' || next.value === null) continue;
    const depth = next.depth + 1;
    if (depth > limit) return true;
    for (const child of Object.values(next.value)) stack.push({ value: child, depth });
  }
  return false;
}

/** What Fastify's JSON parser yields for a body nested too deep, in place of the body. */
const TOO_DEEP = Symbol('JSON body nested too deep');

/** 400 `invalid_body` for a JSON body nested deeper than {@link MAX_JSON_BODY_DEPTH}. */
export class JsonTooDeepException extends BadRequestException {
  constructor() {
    const message = `The JSON body nests arrays and objects more than ${MAX_JSON_BODY_DEPTH} deep.`;
    super({ statusCode: 400, error: 'Bad Request', code: 'invalid_body', message: [message] });
  }
}

/**
 * Replaces the platform's JSON body parser with one that first refuses a body nested deeper than
 * {@link MAX_JSON_BODY_DEPTH} with the 400 of {@link JsonTooDeepException}, before guards, pipes
 * and the handler run. Call it before `app.init()`.
 *
 * - Express: nothing here; `JsonDepthMiddleware` refuses the parsed body.
 * - Fastify: a content-type parser that checks, then parses with Fastify's own JSON parser
 *   (prototype poisoning refused, as Nest configures it). Registering a parser tells Nest not to
 *   register its own, so the form (urlencoded) parser Nest would add is added here too, as Nest
 *   does it: the routes accept the same bodies on both platforms. A body nested too deep is
 *   not parsed: the parser hands on a marker that a `preValidation` hook answers with the 400.
 *   An error from the parser would be answered by Fastify's error handler instead, which is not
 *   Nest's for the REST routes once Mercurius is registered (`@nestjs/mercurius` awaits
 *   `app.register()` in `onModuleInit`, which adds the routes declared so far with the error
 *   handler of that moment, Fastify's default, before Nest installs its own): the body would
 *   lose its `code`.
 */
export function limitJsonNesting(app: INestApplication): void {
  // Express: JsonDepthMiddleware refuses the parsed body (see there why not a parser hook).
  if (app.getHttpAdapter().getType() === 'express') return;
  const fastifyApp = app as NestFastifyApplication;
  const fastify = fastifyApp.getHttpAdapter().getInstance();
  const { bodyLimit } = fastify.initialConfig;
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastifyApp.useBodyParser<Server>('application/json', { bodyLimit }, (request, body, done) => {
    if (jsonNestsDeeperThan(body, MAX_JSON_BODY_DEPTH)) done(null, TOO_DEEP);
    else parseJson(request, body.toString('utf8'), done);
  });
  fastify.addHook('preValidation', (request, reply, done) => {
    if (request.body !== TOO_DEEP) return done();
    const refusal = new JsonTooDeepException();
    void reply.code(refusal.getStatus()).send(refusal.getResponse());
  });
  fastifyApp.useBodyParser('application/x-www-form-urlencoded', { bodyLimit }, (_, body, done) =>
    done(null, parseQueryString(body.toString())),
  );
}
