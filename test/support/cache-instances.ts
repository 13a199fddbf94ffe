import { Client, Notification } from 'pg';
import request from 'supertest';
import { SESSION_CHANGED_CHANNEL } from '../../lib/storage/session-change-signal';
import { SessionCache } from '../../lib/storage/session-cache';
import { usesEmbeddedPostgres, testDatabaseUrl } from './database-url';
import { Browser, COOKIE } from './http-client';
import type { TestApp } from './test-app';
import { waitFor } from './wait-for';

/*
 * Helpers of the tests that run several instances (test apps) with the session cache on one
 * database.
 */

/**
 * The listener needs connections of its own to a real server (PGlite serves one backend); and
 * CI's run without the cache (`TEST_SESSION_CACHE=off`) has none to test.
 */
export const describeOnServer =
  usesEmbeddedPostgres() || process.env.TEST_SESSION_CACHE === 'off' ? describe.skip : describe;

/**
 * How long a change made on one instance may take to reach another here: generous, for a
 * loaded CI machine. The figure that counts (p99 <= 50 ms) is measured by `npm run bench:cache`.
 */
export const PROPAGATION_MS = 2_000;

export function cacheOf(t: TestApp): SessionCache {
  return t.app.get(SessionCache);
}

export async function cacheInUse(t: TestApp): Promise<void> {
  await waitFor('the cache to listen', () => cacheOf(t).usable);
}

/** Requests with `browser`'s session cookie to the instance at `url`. */
export function as(browser: Browser, url: string) {
  return {
    get: (path: string) =>
      request(url)
        .get(path)
        .set('Cookie', `${COOKIE}=${browser.token}`)
        .then((response) => response),
    post: (path: string, body: object = {}) =>
      request(url)
        .post(path)
        .set('Cookie', `${COOKIE}=${browser.token}`)
        .send(body)
        .then((response) => response),
  };
}

/** Waits until `reader` (a browser's requests to one instance) reads `value` at `key`. */
export async function dataSeen(
  reader: ReturnType<typeof as>,
  key: string,
  value: unknown,
  ms = PROPAGATION_MS,
): Promise<void> {
  await waitFor(
    `the write of ${key} on the other instance`,
    async () => (await reader.get('/private')).body.data?.[key] === value,
    ms,
  );
}

/** A browser signed in as `userId` on `t`, whose session `t` now reads from its copy (no SQL). */
export async function signedInWithCopy(t: TestApp, userId: string): Promise<Browser> {
  const browser = new Browser(t.url);
  expect((await browser.post('/login', { userId })).status).toBe(200);
  expect((await browser.get('/private')).status).toBe(200);
  t.statements.reset();
  expect((await browser.get('/private')).status).toBe(200);
  expect(t.statements.count).toBe(0);
  return browser;
}

/** A connection of the test's own that listens on the changed-sessions channel. */
export async function listenToChanges(): Promise<{
  heard: Notification[];
  close: () => Promise<void>;
}> {
  const client = new Client({ connectionString: testDatabaseUrl() });
  const heard: Notification[] = [];
  client.on('notification', (message) => heard.push(message));
  await client.connect();
  await client.query(`LISTEN ${SESSION_CHANGED_CHANNEL}`);
  return { heard, close: () => client.end() };
}
