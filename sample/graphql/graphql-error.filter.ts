import { Catch, HttpException } from '@nestjs/common';
import { GqlExceptionFilter } from '@nestjs/graphql';
import { GraphQLError } from 'graphql';

/**
 * A resolver's HTTP exception as the GraphQL error a client of the sample can act on, on both
 * drivers: `extensions.code` is the `code` the same error has over REST (`invalid_body` with
 * its `fields`, `session_required`...), where Apollo would say `BAD_REQUEST` and Mercurius
 * nothing. The package's own denials (guard, CSRF) are GraphQL errors already and pass by.
 */
@Catch(HttpException)
export class GraphqlErrorFilter implements GqlExceptionFilter {
  catch(exception: HttpException): GraphQLError | HttpException {
    const body = exception.getResponse();
    if (typeof body !== 'object' || typeof (body as { code?: unknown }).code !== 'string') {
      return exception;
    }
    const { code, message, fields } = body as { code: string; message?: unknown; fields?: unknown };
    const text = Array.isArray(message) ? message.join(' ') : String(message ?? exception.message);
    return new GraphQLError(text, { extensions: fields ? { code, fields } : { code } });
  }
}
