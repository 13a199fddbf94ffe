import {
  PostgresSessionRepository,
  SessionModule,
  SessionRepository,
  SessionTouch,
} from 'nest-session-security';
import { TouchBatcher } from '../lib/lifecycle/touch-batcher';
import { Browser, rowFor } from './support/http-client';
import { ADAPTERS, postgresSubclasses, storageOptions, useTestApp } from './support/test-app';

/*
 * Touches are coalesced (issue 17): while one batch of touches is being written, those that
 * arrive wait and go together in the next statement. The first batch is held here until the
 * others have queued behind it, so the batches are the same every time.
 */

const MINUTE = 60_000;
const SESSIONS = 12;

/** Holds the first `touchAll` until released; records the size of every batch. */
class HeldTouches {
  batches: number[] = [];
  private release: (() => void) | null = null;
  private held: Promise<void> | null = null;

  hold(): void {
    this.held = new Promise((resolve) => (this.release = resolve));
  }

  open(): void {
    this.release?.();
    this.held = null;
  }

  async pass(batch: number): Promise<void> {
    this.batches.push(batch);
    if (this.held) await this.held;
  }
}

const touches = new HeldTouches();

class HeldTouchRepository extends PostgresSessionRepository {
  override async touchAll(batch: SessionTouch[]): Promise<(number | null)[]> {
    await touches.pass(batch.length);
    return super.touchAll(batch);
  }
}

describe.each(ADAPTERS)('coalesced touches (%s)', (adapter) => {
  const t = useTestApp(adapter, {
    sessionModule: SessionModule.forRoot({
      ...storageOptions(),
      csrf: { enabled: false },
      repositories: postgresSubclasses({ session: HeldTouchRepository }),
    }),
  });

  beforeEach(() => {
    touches.batches = [];
    touches.open();
  });

  async function signedIn(count: number): Promise<Browser[]> {
    const browsers: Browser[] = [];
    for (let i = 0; i < count; i++) {
      const browser = new Browser(t.url);
      expect((await browser.post('/login', { userId: `u${i}` })).status).toBe(200);
      browsers.push(browser);
    }
    return browsers;
  }

  it('the touches of many sessions due at once go in one statement behind the one being written', async () => {
    const browsers = await signedIn(SESSIONS);
    t.clock.advance(2 * MINUTE);
    touches.hold();
    const first = browsers[0].get('/private');
    await waitUntil(() => touches.batches.length === 1);
    const rest = browsers.slice(1).map((browser) => browser.get('/private'));
    // Every other request reaches its touch and waits behind the first batch.
    const batcher = t.app.get(TouchBatcher);
    await waitUntil(() => batcher.queued === SESSIONS - 1);
    touches.open();
    const answers = await Promise.all([first, ...rest]);
    expect(answers.map((answer) => answer.status)).toEqual(Array(SESSIONS).fill(200));
    expect(touches.batches).toEqual([1, SESSIONS - 1]);
    for (const browser of browsers) {
      const row = await rowFor(t.dataSource, browser.token!);
      expect(row?.last_seen_at.toISOString()).toBe(t.clock.now().toISOString());
      expect(row?.expires_at.getTime()).toBe(t.clock.now().getTime() + 30 * MINUTE);
    }
  });

  it('a touch alone is written at once, and never moves last_seen_at back', async () => {
    const [browser] = await signedIn(1);
    t.clock.advance(2 * MINUTE);
    expect((await browser.get('/private')).status).toBe(200);
    expect(touches.batches).toEqual([1]);
    const touched = await rowFor(t.dataSource, browser.token!);
    expect(touched?.last_seen_at.toISOString()).toBe(t.clock.now().toISOString());
    // A touch computed for an earlier moment (a request that started earlier) changes nothing.
    const repository = t.app.get(SessionRepository);
    const earlier = new Date(t.clock.now().getTime() - MINUTE);
    expect(
      await repository.touchAll([
        { idHash: touched!.id_hash, lastSeenAt: earlier, expiresAt: earlier },
      ]),
    ).toEqual([null]);
    expect((await rowFor(t.dataSource, browser.token!))?.last_seen_at).toEqual(
      touched?.last_seen_at,
    );
  });

  it("a touch leaves the pool's connections committing durably", async () => {
    const browsers = await signedIn(3);
    t.clock.advance(2 * MINUTE);
    await Promise.all(browsers.map((browser) => browser.get('/private')));
    const settings: { synchronous_commit: string }[] = await Promise.all(
      Array.from({ length: 10 }, () =>
        t.dataSource.query(`SELECT current_setting('synchronous_commit') AS synchronous_commit`),
      ),
    ).then((rows) => rows.flat());
    expect(new Set(settings.map((row) => row.synchronous_commit))).toEqual(new Set(['on']));
  });
});

async function waitUntil(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
