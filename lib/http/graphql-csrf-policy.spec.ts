import { graphqlCsrfChecks } from './graphql-csrf-policy';

const JSON_TYPE = 'application/json';

describe('graphqlCsrfChecks', () => {
  it('a JSON query over POST: provenance only, no token (a query must not change state)', () => {
    expect(
      graphqlCsrfChecks({ safeMethod: false, contentType: JSON_TYPE, operation: 'query' }),
    ).toEqual({ provenance: true, token: null });
  });

  it('a query over GET: nothing, as for any GET route', () => {
    expect(
      graphqlCsrfChecks({ safeMethod: true, contentType: undefined, operation: 'query' }),
    ).toEqual({ provenance: false, token: null });
  });

  it('a mutation needs the token and its provenance checked', () => {
    expect(
      graphqlCsrfChecks({ safeMethod: false, contentType: JSON_TYPE, operation: 'mutation' }),
    ).toEqual({ provenance: true, token: 'operation' });
  });

  it('a mutation over GET still needs the token: the rule follows the operation, not the method', () => {
    expect(
      graphqlCsrfChecks({ safeMethod: true, contentType: undefined, operation: 'mutation' }),
    ).toEqual({ provenance: false, token: 'operation' });
  });

  it.each([undefined, 'subscription', 'Query', ''])(
    'an operation of kind %p is not known to be a query: it needs the token',
    (operation) => {
      expect(
        graphqlCsrfChecks({ safeMethod: false, contentType: JSON_TYPE, operation }).token,
      ).toBe('operation');
    },
  );

  it.each([
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'text/plain',
    'TEXT/PLAIN; charset=utf-8',
    'application/octet-stream',
    '',
    undefined,
  ])('a query whose body type is %p needs the token', (contentType) => {
    expect(graphqlCsrfChecks({ safeMethod: false, contentType, operation: 'query' })).toEqual({
      provenance: true,
      token: 'body',
    });
  });

  it.each([
    'application/json',
    'application/json; charset=utf-8',
    ' Application/JSON ',
    'application/graphql',
  ])(
    'a query whose body type is %p (needs a preflight cross-site) needs no token',
    (contentType) => {
      expect(graphqlCsrfChecks({ safeMethod: false, contentType, operation: 'query' }).token).toBe(
        null,
      );
    },
  );
});
