import { ManualClock } from 'nest-session-security';
import request from 'supertest';
import {
  SAMPLE_ADAPTERS,
  SampleApp,
  SampleClient,
  SampleDatabase,
  startSample,
} from '../support/sample-app';

const T0 = new Date('2030-01-01T09:00:00.000Z');

const ALICE = { username: 'alice', password: 'alice-demo-password' };

const ME = 'query { me { username } }';
const ADD_TO_CART = `mutation Add($sku: String!, $qty: Int!) {
  addToCart(sku: $sku, qty: $qty) { items { sku qty } }
}`;

/** The `code` of the first GraphQL error of a response, and whether any data came back. */
function firstError(response: request.Response): { code: unknown; data: unknown } {
  const body = response.body as { data?: unknown; errors?: { extensions?: { code?: unknown } }[] };
  return { code: body.errors?.[0]?.extensions?.code, data: body.data ?? null };
}

let database: SampleDatabase;

beforeAll(async () => {
  database = await SampleDatabase.create('graphql');
});
afterAll(() => database?.drop());

describe.each(SAMPLE_ADAPTERS)('sample GraphQL, POST /graphql (%s)', (adapter) => {
  let sample: SampleApp;
  const clock = new ManualClock(T0);
  const client = () => new SampleClient(sample.url);

  async function signedIn(): Promise<SampleClient> {
    const browser = client();
    await browser.signIn(ALICE.username, ALICE.password);
    return browser;
  }

  /**
   * `POST /graphql` with the client's cookies and only the headers given here (no CSRF token
   * unless given): what a page of another site, or a replayed cookie, sends.
   */
  function sendRaw(
    browser: SampleClient,
    headers: Record<string, string>,
    body: string | object = { query: ADD_TO_CART, variables: { sku: 'tea-01', qty: 1 } },
  ): Promise<request.Response> {
    let test = request(sample.url).post('/graphql').set('Cookie', browser.cookieHeader);
    for (const [name, value] of Object.entries(headers)) test = test.set(name, value);
    return test.send(body);
  }

  async function cartOf(browser: SampleClient): Promise<unknown> {
    const response = await browser.get('/api/cart');
    expect(response.status).toBe(200);
    return response.body;
  }

  async function sessionRows(): Promise<number> {
    const rows: { n: number }[] = await sample.dataSource.query(
      `SELECT count(*)::int AS n FROM "session"`,
    );
    return rows[0].n;
  }

  beforeAll(async () => {
    sample = await startSample(adapter, { databaseUrl: database.url, clock });
  });
  afterAll(() => sample?.close());
  beforeEach(async () => {
    clock.set(T0);
    await sample.dataSource.query(`TRUNCATE "session"`);
  });

  describe('query { me { username } }', () => {
    it('without a session: a session_required error, no data, no session started', async () => {
      const response = await client().graphql(ME);
      expect(firstError(response)).toEqual({ code: 'session_required', data: null });
      expect(response.headers['set-cookie']).toBeUndefined();
      expect(await sessionRows()).toBe(0);
    });

    it('signed in: the user', async () => {
      const browser = await signedIn();
      const response = await browser.graphql(ME);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ data: { me: { username: 'alice' } } });
    });

    it('a signed-out cookie replayed: refused as over REST', async () => {
      const browser = await signedIn();
      const copy = browser.cookieHeader;
      expect((await browser.post('/api/auth/logout')).status).toBe(204);
      const replay = await request(sample.url)
        .post('/graphql')
        .set('Cookie', copy)
        .send({ query: ME });
      expect(firstError(replay)).toEqual({ code: 'session_required', data: null });
    });

    it('a session revoked from another device: session_revoked', async () => {
      const laptop = await signedIn();
      const phone = await signedIn();
      expect((await laptop.post('/api/sessions/revoke-others')).status).toBe(204);
      // A query needs no CSRF token (none is fetched, which would clear the revoked cookie first).
      const response = await sendRaw(phone, { 'Content-Type': 'application/json' }, { query: ME });
      expect(firstError(response)).toEqual({
        code: 'session_revoked',
        data: null,
      });
    });

    it('errors carry no stack trace', async () => {
      const response = await client().graphql(ME);
      expect(JSON.stringify(response.body)).not.toMatch(/stacktrace|\.ts:\d|\.js:\d/i);
    });
  });

  describe('mutation addToCart', () => {
    it('adds to the cart the REST routes use, anonymously; each way sees the other', async () => {
      const browser = client();
      const first = await browser.graphql(ADD_TO_CART, { sku: 'tea-01', qty: 2 });
      expect(first.body).toEqual({ data: { addToCart: { items: [{ sku: 'tea-01', qty: 2 }] } } });
      expect(await sessionRows()).toBe(1);
      expect(await cartOf(browser)).toEqual({ items: [{ sku: 'tea-01', qty: 2 }] });
      await browser.post('/api/cart/items', { sku: 'mug-02', qty: 1 });
      const third = await browser.graphql(ADD_TO_CART, { sku: 'tea-01', qty: 3 });
      expect(third.body.data.addToCart.items).toEqual([
        { sku: 'tea-01', qty: 5 },
        { sku: 'mug-02', qty: 1 },
      ]);
      expect(await cartOf(browser)).toEqual({ items: third.body.data.addToCart.items });
    });

    it('the cart added to over GraphQL survives sign-in', async () => {
      const browser = client();
      await browser.graphql(ADD_TO_CART, { sku: 'tea-01', qty: 2 });
      await browser.signIn(ALICE.username, ALICE.password);
      expect(await cartOf(browser)).toEqual({ items: [{ sku: 'tea-01', qty: 2 }] });
    });

    it.each([
      ['qty 0', { sku: 'tea-01', qty: 0 }, ['qty']],
      ['qty 100 (past MAX_QTY)', { sku: 'tea-01', qty: 100 }, ['qty']],
      ['a SKU with a space', { sku: 'bad sku', qty: 1 }, ['sku']],
      ['a SKU of 65 characters', { sku: 'a'.repeat(65), qty: 1 }, ['sku']],
      ['both', { sku: '-x', qty: -1 }, ['qty', 'sku']],
    ])(
      'the limits of POST /api/cart/items: %s is invalid_body with the same fields',
      async (_, item, fields) => {
        const browser = client();
        await browser.graphql(ADD_TO_CART, { sku: 'tea-01', qty: 1 });
        const rest = await browser.post('/api/cart/items', item);
        expect(rest.status).toBe(400);
        const response = await browser.graphql(ADD_TO_CART, item);
        const error = response.body.errors[0];
        expect(error.extensions.code).toBe('invalid_body');
        expect(Object.keys(error.extensions.fields).sort()).toEqual(fields);
        expect(error.extensions.fields).toEqual(rest.body.fields);
        expect(response.body.data ?? null).toBeNull();
        expect(await cartOf(browser)).toEqual({ items: [{ sku: 'tea-01', qty: 1 }] });
      },
    );

    it('a quantity that is not an Int is refused by the schema, before the resolver', async () => {
      const browser = client();
      const response = await browser.graphql(ADD_TO_CART, { sku: 'tea-01', qty: 1.5 });
      expect(response.body.errors).toHaveLength(1);
      expect(response.body.data ?? null).toBeNull();
      expect(await sessionRows()).toBe(0);
    });

    it('CSRF: without the x-csrf-token header, csrf_token_invalid and the cart unchanged', async () => {
      const browser = client();
      await browser.graphql(ADD_TO_CART, { sku: 'tea-01', qty: 1 });
      const response = await sendRaw(browser, { 'Content-Type': 'application/json' });
      expect(firstError(response)).toEqual({ code: 'csrf_token_invalid', data: null });
      expect(await cartOf(browser)).toEqual({ items: [{ sku: 'tea-01', qty: 1 }] });
    });

    it('CSRF: a visitor without a session starts none with a token-less mutation', async () => {
      const response = await sendRaw(client(), { 'Content-Type': 'application/json' });
      expect(firstError(response)).toEqual({ code: 'csrf_token_invalid', data: null });
      expect(response.headers['set-cookie']).toBeUndefined();
      expect(await sessionRows()).toBe(0);
    });

    it("CSRF: another session's token is refused for this one", async () => {
      const attacker = client();
      const victim = await signedIn();
      await victim.graphql(ADD_TO_CART, { sku: 'tea-01', qty: 1 });
      const token = (await attacker.get('/api/csrf')).body.token as string;
      const response = await sendRaw(victim, {
        'Content-Type': 'application/json',
        'x-csrf-token': token,
      });
      expect(firstError(response)).toEqual({ code: 'csrf_token_invalid', data: null });
      expect(await cartOf(victim)).toEqual({ items: [{ sku: 'tea-01', qty: 1 }] });
    });

    it('CSRF: a mutation from another site is refused even with the right token', async () => {
      const browser = await signedIn();
      const token = (await browser.get('/api/csrf')).body.token as string;
      const response = await sendRaw(browser, {
        'Content-Type': 'application/json',
        'x-csrf-token': token,
        Origin: 'https://evil.example',
      });
      expect(firstError(response)).toEqual({ code: 'csrf_origin_rejected', data: null });
      expect(await cartOf(browser)).toEqual({ items: [] });
    });

    it.each([
      ['a cross-site form', 'application/x-www-form-urlencoded'],
      ['text/plain', 'text/plain'],
    ])('CSRF: a mutation sent as %s (no preflight) never runs', async (_, contentType) => {
      const browser = await signedIn();
      const body =
        contentType === 'text/plain'
          ? JSON.stringify({
              query: 'mutation { addToCart(sku: "tea-01", qty: 1) { items { sku } } }',
            })
          : `query=${encodeURIComponent('mutation { addToCart(sku: "tea-01", qty: 1) { items { sku } } }')}`;
      const response = await sendRaw(browser, { 'Content-Type': contentType }, body);
      expect(response.body?.data?.addToCart).toBeUndefined();
      expect(await cartOf(browser)).toEqual({ items: [] });
    });
  });
});
