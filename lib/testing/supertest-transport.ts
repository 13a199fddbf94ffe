import { OutgoingRequest, ReceivedResponse, SessionTestTransport } from './transport';

/** The HTTP methods the transport sends, as supertest names its request builders. */
type SupertestMethod = 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head' | 'options';

/** What the transport needs of a supertest request: headers, a body, and awaiting it. */
export interface SupertestPendingRequest<R> extends PromiseLike<R> {
  set(field: string, value: string): unknown;
  // A method (not a property): supertest's own `send` takes a narrower type.
  send(body: unknown): unknown;
}

/** What the transport needs of a supertest response. */
export interface SupertestResponseShape {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/**
 * supertest's default export, as the transport uses it: `request(app).post(path)`. Typed by
 * shape, so this package does not depend on supertest; `A` is what supertest accepts as the
 * application (an `http.Server`, such as `app.getHttpServer()`, or a URL) and `R` its response.
 */
export type SupertestFunction<A, R extends SupertestResponseShape> = (
  app: A,
) => Record<SupertestMethod, (url: string) => SupertestPendingRequest<R>>;

/** Each line of a response's `Set-Cookie` header (Node gives them as an array). */
function setCookieLines(response: SupertestResponseShape): string[] {
  const header = response.headers['set-cookie'];
  if (header === undefined) return [];
  return Array.isArray(header) ? header : [header];
}

/**
 * Sends requests with the supertest function the test passes in, to an `http.Server` (started
 * by supertest on a free port when it is not listening) or a URL.
 */
export class SupertestTransport<
  A,
  R extends SupertestResponseShape,
> implements SessionTestTransport<R> {
  constructor(
    private readonly request: SupertestFunction<A, R>,
    private readonly app: A,
  ) {}

  async send(outgoing: OutgoingRequest): Promise<ReceivedResponse<R>> {
    const method = outgoing.method.toLowerCase() as SupertestMethod;
    const pending = this.request(this.app)[method](outgoing.path);
    for (const [name, value] of Object.entries(outgoing.headers)) pending.set(name, value);
    if (outgoing.body !== undefined) pending.send(outgoing.body);
    const response = await pending;
    return {
      response,
      status: response.status,
      setCookie: setCookieLines(response),
      json: async () => response.body,
    };
  }
}
