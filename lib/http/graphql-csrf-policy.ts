/**
 * Body types that GraphQL servers parse and that a page on another site cannot send without a
 * CORS preflight. The others a browser sends cross-site freely (a form's
 * `application/x-www-form-urlencoded` and `multipart/form-data`, and `text/plain`), and Nest
 * parses forms on both platforms.
 */
const PREFLIGHTED_BODY_TYPES: ReadonlySet<string> = new Set([
  'application/json',
  'application/graphql',
]);

/** What a GraphQL request is, as far as CSRF is concerned. */
export interface GraphqlRequestKind {
  /** Sent with GET or HEAD: no body, and the drivers run only queries so. */
  safeMethod: boolean;
  /** The `Content-Type` header as received. */
  contentType: string | undefined;
  /** `query`, `mutation` or `subscription`; `undefined` when unknown. */
  operation: string | undefined;
}

/** Which CSRF checks a GraphQL request must pass. */
export interface GraphqlCsrfChecks {
  /** `Sec-Fetch-Site` and `Origin` must not point to another site, as for any unsafe request. */
  provenance: boolean;
  /**
   * Why the session's CSRF token is required: the operation can change state (`operation`), or
   * the body is one that another site can send (`body`); `null` when it is not required.
   */
  token: 'operation' | 'body' | null;
}

/** The media type of a `Content-Type` value, without its parameters, in lower case. */
function mediaType(contentType: string): string {
  return contentType.split(';', 1)[0].trim().toLowerCase();
}

/**
 * The CSRF rules of a GraphQL request, the counterpart of "unsafe methods need the token" for an
 * API whose every change arrives as a POST:
 * - every request with a body (any method but GET and HEAD) has its provenance checked;
 * - a mutation (and anything not known to be a query) needs the token, whatever the method;
 * - a query needs none, as a GET route needs none (queries must not change state), unless its
 *   body is one another site could send without a preflight: a cross-site form or `text/plain`
 *   POST can then never run an operation without the token, even from a browser that sends no
 *   `Origin` or `Sec-Fetch-Site`.
 */
export function graphqlCsrfChecks(request: GraphqlRequestKind): GraphqlCsrfChecks {
  const { safeMethod, contentType, operation } = request;
  if (operation !== 'query') return { provenance: !safeMethod, token: 'operation' };
  if (safeMethod) return { provenance: false, token: null };
  const preflighted =
    contentType !== undefined && PREFLIGHTED_BODY_TYPES.has(mediaType(contentType));
  return { provenance: true, token: preflighted ? null : 'body' };
}
