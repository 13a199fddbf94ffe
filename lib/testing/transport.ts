/** A request as the test client hands it to a transport, headers complete. */
export interface OutgoingRequest {
  method: string;
  /** Path and query, starting with `/`. */
  path: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** A plain object or array is sent as JSON; anything else as the underlying client sends it. */
  body?: unknown;
}

/** A response as the transport received it, with what the test client needs to read from it. */
export interface ReceivedResponse<R> {
  /** The underlying client's own response object, handed to the test unchanged. */
  response: R;
  status: number;
  /** Each `Set-Cookie` header line. */
  setCookie: string[];
  /** The body as JSON; called only for the client's own CSRF token request. */
  json(): Promise<unknown>;
}

/**
 * Sends requests for a `SessionTestClient` over some HTTP client (supertest, `fetch`). `R` is
 * that client's response type, which the test reads as it is used to.
 */
export interface SessionTestTransport<R> {
  send(request: OutgoingRequest): Promise<ReceivedResponse<R>>;
}
