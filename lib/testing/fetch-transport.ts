import { OutgoingRequest, ReceivedResponse, SessionTestTransport } from './transport';

/** The `fetch` function the transport calls (the global one unless a test gives another). */
export type FetchFunction = (input: URL, init: RequestInit) => Promise<Response>;

/** True for the bodies sent as JSON: plain objects and arrays. */
function isJsonBody(body: unknown): boolean {
  if (Array.isArray(body)) return true;
  if (typeof body !== 'object' || body === null) return false;
  const prototype = Object.getPrototypeOf(body);
  return prototype === Object.prototype || prototype === null;
}

/**
 * Sends requests with `fetch` to an application listening at `baseUrl`. Redirects are not
 * followed (`redirect: 'manual'`), so the cookies a redirect sets are kept and the test sees the
 * redirect, as with supertest.
 */
export class FetchTransport implements SessionTestTransport<Response> {
  constructor(
    private readonly baseUrl: string,
    private readonly fetchFunction: FetchFunction = (input, init) => fetch(input, init),
  ) {}

  async send(request: OutgoingRequest): Promise<ReceivedResponse<Response>> {
    const headers = { ...request.headers };
    let body = request.body as RequestInit['body'];
    if (isJsonBody(request.body)) {
      body = JSON.stringify(request.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await this.fetchFunction(new URL(request.path, this.baseUrl), {
      method: request.method,
      headers,
      body,
      redirect: 'manual',
    });
    return {
      response,
      status: response.status,
      setCookie: response.headers.getSetCookie(),
      json: () => response.json(),
    };
  }
}
