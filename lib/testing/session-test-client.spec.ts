import { SessionTestClient } from './session-test-client';
import { SessionTestClientError } from './session-test-client-error';
import { OutgoingRequest, ReceivedResponse, SessionTestTransport } from './transport';

type Reply = { status?: number; setCookie?: string[]; body?: unknown };

/** Records what the client sends and answers with a scripted reply per path. */
class ScriptedTransport implements SessionTestTransport<Reply> {
  readonly sent: OutgoingRequest[] = [];
  private tokens = 0;

  constructor(private readonly script: Record<string, (request: OutgoingRequest) => Reply>) {}

  /** A different token on every call, as `CsrfService.token` hands out. */
  nextToken(): string {
    return `token-${++this.tokens}`;
  }

  async send(request: OutgoingRequest): Promise<ReceivedResponse<Reply>> {
    this.sent.push(request);
    const reply = this.script[request.path]?.(request) ?? { status: 404 };
    return {
      response: reply,
      status: reply.status ?? 200,
      setCookie: reply.setCookie ?? [],
      json: async () => reply.body,
    };
  }

  /** The paths sent, with the CSRF header where there was one. */
  log(): string[] {
    return this.sent.map((request) =>
      [request.method, request.path, request.headers['x-csrf-token']].filter(Boolean).join(' '),
    );
  }
}

function app(): ScriptedTransport {
  const transport: ScriptedTransport = new ScriptedTransport({
    '/csrf': (request) => ({
      body: { token: transport.nextToken() },
      // An anonymous visitor gets a pre-session cookie with the token.
      setCookie: request.headers.cookie ? [] : ['__Host-sid=pre; Path=/; Secure'],
    }),
    '/login': () => ({ setCookie: ['__Host-sid=signed-in; Path=/; Secure'] }),
    '/data': () => ({}),
    '/logout': () => ({ setCookie: ['__Host-sid=; Path=/; Secure; Max-Age=0'] }),
  });
  return transport;
}

describe('SessionTestClient', () => {
  it('fetches a token before the first unsafe request and sends it with the cookie it came with', async () => {
    const transport = app();
    const client = new SessionTestClient(transport, { csrfPath: '/csrf' });
    await client.post('/data', { a: 1 });
    expect(transport.log()).toEqual(['GET /csrf', 'POST /data token-1']);
    expect(transport.sent[1].headers.cookie).toBe('__Host-sid=pre');
    expect(transport.sent[1].body).toEqual({ a: 1 });
  });

  it('sends no token on safe requests and fetches none for them', async () => {
    const transport = app();
    const client = new SessionTestClient(transport, { csrfPath: '/csrf' });
    await client.get('/data');
    await client.request('HEAD', '/data');
    expect(transport.log()).toEqual(['GET /data', 'HEAD /data']);
  });

  it('keeps the token while the session cookie stays, and fetches a new one after sign-in and sign-out', async () => {
    const transport = app();
    const client = new SessionTestClient(transport, { csrfPath: '/csrf' });
    await client.post('/data');
    await client.post('/data');
    await client.post('/login');
    await client.post('/data');
    await client.post('/logout');
    await client.post('/data');
    expect(transport.log()).toEqual([
      'GET /csrf',
      'POST /data token-1',
      'POST /data token-1',
      'POST /login token-1',
      'GET /csrf',
      'POST /data token-2',
      'POST /logout token-2',
      'GET /csrf',
      'POST /data token-3',
    ]);
    expect(client.sessionCookie).toBe('pre');
  });

  it('unsafe requests sent together share one token request', async () => {
    const transport = app();
    const client = new SessionTestClient(transport, { csrfPath: '/csrf' });
    await Promise.all([client.post('/data'), client.put('/data'), client.delete('/data')]);
    expect(transport.log().filter((line) => line === 'GET /csrf')).toHaveLength(1);
  });

  it('csrf: false on a request sends it without a token', async () => {
    const transport = app();
    const client = new SessionTestClient(transport, { csrfPath: '/csrf' });
    await client.post('/data', undefined, { csrf: false });
    expect(transport.log()).toEqual(['POST /data']);
  });

  it('uses the header and cookie names of the module options it is given', async () => {
    const transport = new ScriptedTransport({
      '/csrf': () => ({ body: { token: 't' }, setCookie: ['sid=plain; Path=/'] }),
      '/data': () => ({ setCookie: ['remember=r; Path=/; Max-Age=60'] }),
    });
    const client = new SessionTestClient(transport, {
      csrfPath: '/csrf',
      cookie: { secure: false },
      csrf: { header: 'X-XSRF-Token' },
    });
    await client.post('/data');
    expect(transport.sent[1].headers['x-xsrf-token']).toBe('t');
    expect([client.sessionCookie, client.rememberMeCookie]).toEqual(['plain', 'r']);
  });

  it('request headers win over the client headers and its own', async () => {
    const transport = app();
    const client = new SessionTestClient(transport, {
      csrfPath: '/csrf',
      headers: { 'User-Agent': 'jest', Accept: 'text/html' },
    });
    client.setCookie('__Host-sid', 'kept');
    await client.post('/data', undefined, {
      headers: { Cookie: '__Host-sid=forged', Accept: 'application/json' },
    });
    expect(transport.sent[1].headers).toEqual({
      cookie: '__Host-sid=forged',
      'user-agent': 'jest',
      accept: 'application/json',
      'x-csrf-token': 'token-1',
    });
  });

  it('with CSRF off sends no token and needs no csrfPath', async () => {
    const transport = app();
    const client = new SessionTestClient(transport, { csrf: { enabled: false } });
    await client.post('/data');
    expect(transport.log()).toEqual(['POST /data']);
    await expect(client.csrfToken()).rejects.toThrow(SessionTestClientError);
  });

  it('with CSRF on it refuses to start without csrfPath, saying how to fix it', () => {
    expect(() => new SessionTestClient(app())).toThrow(
      /needs csrfPath.*csrf: \{ enabled: false \}/,
    );
  });

  it('a CSRF route that gives no token is an error naming the route and the status', async () => {
    const client = new SessionTestClient(app(), { csrfPath: '/missing' });
    await expect(client.post('/data')).rejects.toThrow(/GET \/missing answered 404/);
  });

  it('rejects cookie names the module would reject', () => {
    expect(
      () =>
        new SessionTestClient(app(), {
          csrfPath: '/csrf',
          cookie: { name: '__Host-x', secure: false },
        }),
    ).toThrow(/"__Host-" cookie requires cookie.secure: true/);
  });

  it('restartBrowser keeps the remember-me cookie and drops the session cookie', async () => {
    const transport = new ScriptedTransport({
      '/login': () => ({
        setCookie: [
          '__Host-sid=s; Path=/; Secure',
          '__Host-remember=r; Path=/; Secure; Max-Age=60',
        ],
      }),
    });
    const client = new SessionTestClient(transport, { csrf: { enabled: false } });
    await client.post('/login');
    client.restartBrowser();
    expect(client.cookies).toEqual({ '__Host-remember': 'r' });
  });
});
