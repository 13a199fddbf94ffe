import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { RememberMeRepository } from 'nest-session-security';
import request from 'supertest';
import { ADAPTERS, useTestApp } from './support/test-app';
import { Browser, countRows, rowFor, StoredSession } from './support/http-client';

/** `MAX_SESSION_DATA_DEPTH`, the documented limit (its unit spec pins the constant). */
const MAX_SESSION_DATA_DEPTH = 32;

/**
 * What the package answers when `session.set` is given valid JSON it refuses to store (NUL, an
 * unpaired surrogate, nesting deeper than MAX_SESSION_DATA_DEPTH): a client's mistake, so a
 * 4xx with its own code; never a 500, nor a 503 that would report the store as down.
 */
const REFUSED = { status: 400, code: 'session_data_invalid' };

/** JSON text nesting `depth` arrays around a string, as a client sends it (6 KB at 3,000). */
function deepJson(depth: number): string {
  return '['.repeat(depth) + '"leaf"' + ']'.repeat(depth);
}

/**
 * Bodies for POST /public/data (each key is set to its value), written as JSON text so the
 * escapes reach the server exactly as a hostile client would send them.
 */
const HOSTILE_BODIES: [label: string, json: string][] = [
  ['NUL in a value', '{"q": "a\\u0000b"}'],
  ['NUL alone as a value', '{"q": "\\u0000"}'],
  ['a lone high surrogate in a value', '{"q": "a\\ud800b"}'],
  ['a lone low surrogate in a value', '{"q": "\\udc00"}'],
  ['NUL deep inside a value', '{"profile": {"names": ["ok", {"first": "x\\u0000"}]}}'],
  ['NUL in a key', '{"a\\u0000b": 1}'],
  ['a lone surrogate in a key', '{"\\ud800": 1}'],
  ['NUL in a nested key', '{"profile": {"na\\u0000me": "x"}}'],
  ['a lone surrogate in a nested key', '{"profile": [{"\\udfff": 1}]}'],
  [
    `a value nested ${MAX_SESSION_DATA_DEPTH + 1} deep`,
    `{"deep": ${deepJson(MAX_SESSION_DATA_DEPTH + 1)}}`,
  ],
  ['a 6 KB value nested 3,000 deep', `{"deep": ${deepJson(3_000)}}`],
];

/** Logger.error calls during a test: a refused value is no store failure. */
function errorsLogged(spy: jest.SpyInstance): string[] {
  return spy.mock.calls.map(([message]) => String(message));
}

describe.each(ADAPTERS)('hostile data never reaches PostgreSQL (%s)', (adapter) => {
  const t = useTestApp(adapter);
  let loggedError: jest.SpyInstance;

  beforeEach(() => {
    loggedError = jest.spyOn(Logger.prototype, 'error');
  });
  afterEach(() => loggedError.mockRestore());

  function post(browser: Browser | null, json: string): request.Test {
    const test = request(t.url).post('/public/data').set('Content-Type', 'application/json');
    return browser?.token
      ? test.set('Cookie', `__Host-sid=${browser.token}`).send(json)
      : test.send(json);
  }

  async function rememberedDevices(): Promise<number> {
    const rows = await t.dataSource.query(`SELECT count(*)::int AS n FROM "remember_me_token"`);
    return rows[0].n;
  }

  /** Statements that write the session table (the guard's load is a SELECT). */
  function writes(): string[] {
    return t.statements.statements.filter((sql) => !/^SELECT\b/i.test(sql));
  }

  describe('session.set refuses it with a 4xx: nothing written, no store error logged', () => {
    it.each(HOSTILE_BODIES)(
      'issue 12 §2: %s, on an existing session: 400 session_data_invalid, row unchanged',
      async (_label, json) => {
        const browser = new Browser(t.url);
        expect((await browser.post('/public/data', { kept: 'yes' })).status).toBe(200);
        const before = (await rowFor(t.dataSource, browser.token!)) as StoredSession;
        t.statements.reset();

        const response = await post(browser, json);

        expect({ status: response.status, code: response.body.code }).toEqual(REFUSED);
        expect(writes()).toEqual([]);
        expect(await rowFor(t.dataSource, browser.token!)).toEqual(before);
        expect((await browser.get('/public')).body.data).toEqual({ kept: 'yes' });
        expect(errorsLogged(loggedError)).toEqual([]);
      },
    );

    it.each(HOSTILE_BODIES)(
      'issue 12 §2: %s, from a visitor without a session: 400, no row, no cookie',
      async (_label, json) => {
        const response = await post(null, json);
        expect({ status: response.status, code: response.body.code }).toEqual(REFUSED);
        expect(response.headers['set-cookie']).toBeUndefined();
        expect(t.statements.count).toBe(0);
        expect(await countRows(t.dataSource)).toBe(0);
        expect(errorsLogged(loggedError)).toEqual([]);
      },
    );

    it('issue 12 §2: the answer names the rule, never the refused text', async () => {
      const response = await post(null, '{"q": "secret-part\\u0000"}');
      expect(response.status).toBe(REFUSED.status);
      expect(response.text).not.toContain('secret-part');
      expect(JSON.stringify(response.body)).not.toContain('\\u0000');
    });

    it(`issue 12 §2: exactly ${MAX_SESSION_DATA_DEPTH} levels, emoji and other control characters are stored`, async () => {
      const browser = new Browser(t.url);
      const value = JSON.parse(deepJson(MAX_SESSION_DATA_DEPTH)) as unknown;
      const text = 'tab\there, line\nbreak, bell\u0007, emoji 😀, accent é';
      const response = await browser.post('/public/data', { deep: value, text, '😀 key': 1 });
      expect(response.status).toBe(200);
      expect((await rowFor(t.dataSource, browser.token!))?.data).toEqual({
        deep: value,
        text,
        '😀 key': 1,
      });
      expect(errorsLogged(loggedError)).toEqual([]);
    });
  });

  describe('malformed handles are simply not found, without a statement', () => {
    const MALFORMED_HANDLES: [label: string, segment: string][] = [
      ['NUL (%00)', '%00'],
      ['NUL inside a handle-length value', `${'A'.repeat(10)}%00${'A'.repeat(11)}`],
      ['a short word', 'no-such-handle'],
      ['a handle with a non-canonical last character', `${'A'.repeat(21)}B`],
      ['a session token (43 characters)', randomBytes(32).toString('base64url')],
      ['an SQL string', encodeURIComponent("' OR '1'='1")],
      // Fastify's router refuses parameters over 100 characters before the handler runs.
      ['99 characters', 'A'.repeat(99)],
      ['an emoji', encodeURIComponent('😀')],
    ];

    async function signedIn(): Promise<Browser> {
      const browser = new Browser(t.url);
      expect((await browser.post('/login', { userId: 'u1' })).status).toBe(200);
      return browser;
    }

    /**
     * The statements of one request that only loads its session (the baseline): the second
     * such request, so that with the session cache the first has left a copy (none then).
     */
    async function loadOnly(browser: Browser): Promise<string[]> {
      expect((await browser.get('/private')).status).toBe(200);
      t.statements.reset();
      expect((await browser.get('/private')).status).toBe(200);
      return [...t.statements.statements];
    }

    it.each(MALFORMED_HANDLES)(
      'issue 12 §2: DELETE /sessions/<%s>: 404, only the session load is sent, the session stays',
      async (_label, segment) => {
        const browser = await signedIn();
        const load = await loadOnly(browser);
        t.statements.reset();

        const response = await browser.delete(`/sessions/${segment}`);

        expect(response.status).toBe(404);
        expect(t.statements.statements).toEqual(load);
        expect((await browser.get('/private')).status).toBe(200);
        expect(errorsLogged(loggedError)).toEqual([]);
      },
    );

    it.each(MALFORMED_HANDLES)(
      'issue 12 §2: DELETE /remembered/<%s>: 404, the remember-me store is not asked',
      async (_label, segment) => {
        const browser = new Browser(t.url);
        expect((await browser.post('/login', { userId: 'u1', rememberMe: true })).status).toBe(200);
        const deleteOfUser = jest.spyOn(t.app.get(RememberMeRepository), 'deleteOfUser');
        try {
          const response = await browser.delete(`/remembered/${segment}`);
          expect(response.status).toBe(404);
          expect(deleteOfUser).not.toHaveBeenCalled();
        } finally {
          deleteOfUser.mockRestore();
        }
        expect(await rememberedDevices()).toBe(1);
        expect(errorsLogged(loggedError)).toEqual([]);
      },
    );

    it("issue 12 §2: DELETE /remembered/<the device's real handle> still forgets it", async () => {
      const browser = new Browser(t.url);
      const login = await browser.post('/login', { userId: 'u1', rememberMe: true });
      expect((await browser.delete(`/remembered/${login.body.handle}`)).status).toBe(204);
      expect(await rememberedDevices()).toBe(0);
    });

    it('issue 12 §2: a well-formed but unknown handle is still looked up (404 after a query)', async () => {
      const browser = await signedIn();
      const load = await loadOnly(browser);
      t.statements.reset();
      const response = await browser.delete(`/sessions/${'A'.repeat(22)}`);
      expect(response.status).toBe(404);
      expect(t.statements.count).toBeGreaterThan(load.length);
    });

    it("issue 12 §2: the user's real handle still signs that session out", async () => {
      const laptop = await signedIn();
      const phone = await signedIn();
      const sessions = (await laptop.get('/sessions')).body as {
        handle: string;
        current: boolean;
      }[];
      const other = sessions.find((session) => !session.current)!;
      expect((await laptop.delete(`/sessions/${other.handle}`)).status).toBe(204);
      expect((await phone.get('/private')).status).toBe(401);
    });
  });
});
