import request from 'supertest';
import { ADAPTERS, startApp, TestApp } from '../support/test-app';
import { Browser, COOKIE, liveSessions } from '../support/http-client';
import { MODEL_OPTIONS, TIMINGS } from './config';
import { Driver } from './driver';
import { runSteps } from './harness';
import { parseScript } from './script';

/*
 * Every program the model-based test failed on, shrunk, as it printed it: each is run again
 * through the model and the invariants. Races do not happen on every run, so each script runs
 * a few rounds. Where the failure was the package's, the cause is named; the others taught the
 * model an interleaving the package really has (the model is part of the test too).
 */

const ROUNDS = 4;

const REGRESSIONS: [string, string][] = [
  [
    'R8 parallel requests on an expired session each read it before one deletes it (model: a load decides on the row as read)',
    `in parallel: alice#1 POST /public/data a | alice#1 GET /public
     clock +1h1m
     in parallel: alice#1 POST /logout-all | alice#1 GET /private | alice#1 POST /public/list/cart`,
  ],
  [
    'R14 R22 a remember-me token issued by a sign-in that "sign out everywhere" raced does not outlive it (package: RememberMeService.issue stored its token after the revocation)',
    `mallory#1 POST /login userId=alice
     alice#1 POST /password
     in parallel: mallory#1 POST /logout-all | alice#1 POST /login userId=alice rememberMe`,
  ],
  [
    'R14 R22 a remember-me token issued by a sign-in that a password change raced does not outlive it (package: as above)',
    `in parallel: alice#1 GET /sessions | bob#1 POST /login rememberMe
     in parallel: alice#2 POST /login userId=bob rememberMe | bob#1 POST /password`,
  ],
  [
    'R2 two sign-ins racing on one session: the loser starts a session of its own (model: either may win)',
    `in parallel: bob#1 POST /login | alice#1 POST /login | alice#1 POST /password
     in parallel: alice#1 GET /private | alice#1 POST /login userId=bob | alice#1 POST /login userId=mallory`,
  ],
  [
    'R13 R22 the session limit holds when the evicted session rotates during the eviction (package: the eviction stopped after a pass that skipped the rotated row)',
    `in parallel: alice#1 POST /login userId=mallory rememberMe | alice#2 GET /private | alice#2 POST /login userId=mallory
     attacker replays alice#1's remember-me cookie from step 1: POST /public/data a
     clock +5m
     alice#2 GET /private
     attacker replays alice#2's token from step 4: GET /public
     alice#2 GET /sessions
     attacker replays alice#2's token from step 4: GET /sessions
     in parallel (gated): mallory#1 POST /login userId=mallory rememberMe | alice#1 POST /public/list/cart`,
  ],
  [
    'R11 a password change and a re-authentication on one session (model: a sign-in may come between the password change and its revocation)',
    `alice#2 POST /login userId=mallory
     in parallel: alice#1 POST /private/data b | alice#1 POST /login userId=mallory
     in parallel (gated): alice#1 POST /login userId=mallory rememberMe | alice#1 POST /password`,
  ],
  [
    'R14 two restores from one cookie, one of them revoking the other device (model: a restore checks its device again before the handler)',
    `in parallel: alice#1 POST /logout | alice#1 POST /login rememberMe
     clock +1h1m
     in parallel: alice#1 POST /password | alice#1 DELETE /sessions/(alice#1's handle from step 1)`,
  ],
  [
    'R14 a used remember-me cookie sent twice at once is theft for both (model: a restore decides on the token as read)',
    `in parallel: alice#1 POST /logout | alice#1 POST /login rememberMe
     attacker replays alice#1's remember-me cookie from step 1: GET /sessions
     clock +1h1m
     in parallel: alice#1 POST /password | alice#1 DELETE /sessions/(alice#1's handle from step 1)`,
  ],
  [
    'R26 a write whose restore a concurrent revocation undid is stored in a new anonymous session (package: the write was answered 200 and stored nowhere)',
    `in parallel: alice#1 POST /login rememberMe | alice#1 GET /public
     alice#1 closes the browser
     in parallel: alice#1 POST /logout-all | alice#1 POST /public/data a`,
  ],
  [
    'R23 a device list whose own session a concurrent logout ended shows no current entry (invariant: one current entry while the session lives)',
    `in parallel: alice#1 POST /sessions/revoke-others | alice#1 POST /login
     in parallel: alice#1 POST /logout | alice#1 POST /public/list/cart | alice#1 GET /sessions`,
  ],
  [
    'R14 R22 a sign-in on a restored session that "sign out others" ends answers signed out (package: no token for an ended session)',
    `in parallel: alice#1 POST /login userId=mallory rememberMe | alice#2 POST /public/data a
     clock +2m
     clock +11m
     in parallel (gated): alice#1 POST /sessions/revoke-others | alice#1 POST /login userId=mallory rememberMe`,
  ],
  [
    'R11 two device lists at once both show the last touch before either saves theirs (model: the save is a statement of its own)',
    `in parallel: alice#1 DELETE /sessions/(a handle no session had) | alice#2 POST /login
     clock +59s
     clock +1s
     in parallel: alice#2 GET /sessions | alice#2 GET /sessions`,
  ],
  [
    'R11 R22 a device list read between a write and "sign out everywhere" (model: the list and its save may straddle the revocation)',
    `in parallel: alice#1 POST /login | alice#1 POST /login
     clock +2m
     in parallel: alice#1 POST /logout-all | alice#1 POST /public/data a | alice#1 GET /sessions`,
  ],
  [
    'R14 R22 a re-authentication with remember-me racing "sign out everywhere" (model: the token is stored, then its session checked)',
    `in parallel: alice#2 POST /login rememberMe | alice#1 POST /public/list/cart
     in parallel: alice#2 POST /login rememberMe | alice#2 POST /logout-all | alice#2 GET /public`,
  ],
  [
    'R26 two functional updates of one key on a session due for rotation (package: one acknowledged item is lost; known defect rotationLosesConcurrentUpdates)',
    `alice#1 POST /login
     clock +5m
     in parallel (gated): alice#1 POST /public/list/cart | alice#1 POST /public/list/cart`,
  ],
  [
    'R13 R22 sign-ins on restored sessions racing each other (package: one starts a fourth session; known defect signInAfterLostSessionSkipsLimit)',
    `alice#1 POST /login rememberMe
     alice#1 closes the browser
     in parallel: alice#1 POST /login | alice#1 POST /login userId=alice | alice#1 POST /private/data a`,
  ],
];

describe.each(ADAPTERS)('model-based lifecycle regressions (%s)', (adapter) => {
  let app: TestApp;
  let driver: Driver;

  beforeAll(async () => {
    app = await startApp(adapter, { options: MODEL_OPTIONS });
    driver = new Driver(app);
  });

  afterAll(async () => {
    driver.close();
    await app.close();
  });

  it.each(REGRESSIONS)('%s', async (_, script) => {
    const steps = parseScript(script);
    for (let round = 0; round < ROUNDS; round++) await runSteps(driver, steps);
  });

  // Open: the known defect `rotationLosesConcurrentUpdates` (reference/known-defects.ts), found
  // by the model-based test. Remove `.failing` (and the entry) with the fix.
  it.failing(
    'R26 two functional updates of one key on a session due for rotation keep both items',
    async () => {
      await driver.reset();
      const browser = new Browser(app.url);
      expect((await browser.post('/login', { userId: 'alice' })).status).toBe(200);
      app.clock.advance(TIMINGS.rotationInterval);
      // Both load the session (due for rotation), then both add an item.
      const add = (item: string) =>
        request(app.url)
          .post('/public/list/cart?gate=1')
          .set('Cookie', `${COOKIE}=${browser.token}`)
          .send({ item })
          .then((response) => response);
      const both = Promise.all([add('one'), add('two')]);
      await app.gate.arrived(2);
      app.gate.open();
      expect((await both).map((response) => response.status)).toEqual([200, 200]);
      const [live] = await app.dataSource.query(
        `SELECT data FROM "session" WHERE user_id = 'alice' AND obsoleted_at IS NULL AND revoked_at IS NULL`,
      );
      // Expected: both acknowledged items. Actual: the rotation that lost the race writes the
      // list it computed before the winner's item was there.
      expect([...live.data.cart].sort()).toEqual(['one', 'two']);
    },
  );

  // Open: the known defect `signInAfterLostSessionSkipsLimit` (reference/known-defects.ts),
  // found by the model-based test. Remove `.failing` (and the entry) with the fix.
  it.failing(
    'R13 R22 a re-authentication whose session a concurrent eviction ended still keeps the session limit',
    async () => {
      await driver.reset();
      const signIn = async () => {
        const browser = new Browser(app.url);
        expect((await browser.post('/login', { userId: 'alice' })).status).toBe(200);
        return browser;
      };
      // alice holds the limit's three sessions; the first is the least recently used.
      const oldest = await signIn();
      app.clock.advance(2 * 60_000);
      await signIn();
      await signIn();
      // The oldest one re-authenticates, held at the gate before its sign-in...
      const reauthentication = request(app.url)
        .post('/login?gate=1')
        .set('Cookie', `${COOKIE}=${oldest.token}`)
        .send({ userId: 'alice' })
        .then((response) => response);
      await app.gate.arrived(1);
      // ...while a new device signs in and evicts it.
      await signIn();
      app.gate.open();
      expect((await reauthentication).status).toBe(200);
      // Expected: the re-authentication, left without its session, is a new login and evicts
      // the least recently used one. Actual: it starts a fourth session.
      expect(await liveSessions(app.dataSource, 'alice')).toHaveLength(TIMINGS.maxSessionsPerUser);
    },
  );
});
