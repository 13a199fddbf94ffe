import { BadRequestException } from '@nestjs/common';
import {
  SessionGraphQLException,
  SessionIdGuessingException,
  SessionStoreError,
} from '../errors/session.exceptions';
import { asGraphqlDenial } from './graphql-denial';

describe('asGraphqlDenial', () => {
  it("a store failure becomes a GraphQL denial with the HTTP body's message, never the statement", () => {
    const failure = new SessionStoreError('SELECT secret FROM "session"', {
      cause: new Error('x'),
    });
    const denial = asGraphqlDenial(failure) as SessionGraphQLException;
    expect(denial).toBeInstanceOf(SessionGraphQLException);
    expect(denial.code).toBe('session_store_unavailable');
    expect(denial.statusCode).toBe(503);
    expect(denial.extensions).toEqual({
      code: 'session_store_unavailable',
      http: { status: 503 },
    });
    expect(denial.message).toBe('The session store is unavailable; try again shortly.');
    expect(denial.message).not.toContain('SELECT');
    expect(denial.cause).toBe(failure);
  });

  it('an ID-guessing block keeps its code and its 429', () => {
    const denial = asGraphqlDenial(new SessionIdGuessingException()) as SessionGraphQLException;
    expect(denial.extensions).toEqual({ code: 'session_id_guessing', http: { status: 429 } });
  });

  it("any other error is the app's or a programming mistake: returned as it is", () => {
    const other = new BadRequestException('no');
    expect(asGraphqlDenial(other)).toBe(other);
    const coded = Object.assign(new BadRequestException('no'), { code: 'not_ours' });
    expect(asGraphqlDenial(coded)).toBe(coded);
    const plain = new Error('bug');
    expect(asGraphqlDenial(plain)).toBe(plain);
  });
});
