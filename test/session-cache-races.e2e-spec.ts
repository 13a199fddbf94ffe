import { PostgresSessionRepository, SessionModule } from 'nest-session-security';
import type { StatementResult } from '../lib/storage/run-statement';
import { Browser } from './support/http-client';
import { usesEmbeddedPostgres } from './support/database-url';
import { OneShotLatch } from './support/one-shot-latch';
import { ADAPTERS, postgresSubclasses, storageOptions, useTestApp } from './support/test-app';

/*
 * Found by the model-based test (issue 16) on the session cache (issue 17): a write's UPDATE
 * commits before a logout's DELETE of the same row, but its answer is handled after the
 * DELETE's (two pool connections, answers read in any order) and after the ended-session
 * notice. The write's `forget(idHash, version)` replaced the deletion's invalidation (version
 * Infinity) and its `keep` then stored a copy of the deleted row: the logged-out token was
 * served from it for up to `cache.maxAge`. The write's answer is held here until then.
 */

/** Holds the answer of the next data UPDATE, once the statement has run, until opened. */
const hold = new OneShotLatch();

class HoldingSessionRepository extends PostgresSessionRepository {
  protected override async run<T>(sql: string, params: unknown[]): Promise<StatementResult<T>> {
    if (!hold.armed || !sql.startsWith('UPDATE "session" SET version') || !sql.includes('data ='))
      return super.run<T>(sql, params);
    const result = await super.run<T>(sql, params);
    await hold.pass();
    return result;
  }
}

const onServer = usesEmbeddedPostgres() ? describe.skip : describe;

onServer.each(ADAPTERS)('R10 a write answered after a logout of its session (%s)', (adapter) => {
  const t = useTestApp(adapter, {
    sessionModule: SessionModule.forRoot({
      ...storageOptions(),
      csrf: { enabled: false },
      repositories: postgresSubclasses({ session: HoldingSessionRepository }),
    }),
  });

  it('R10 leaves nothing the logged-out token reaches (no cached copy of the deleted row)', async () => {
    const browser = new Browser(t.url);
    expect((await browser.post('/login', { userId: 'alice' })).status).toBe(200);
    // Presented once: the row is one the cache keeps.
    expect((await browser.get('/private')).status).toBe(200);
    const token = browser.token!;
    const ran = hold.arm();
    const write = browser.post('/public/data', { a: 'w' });
    await ran;
    expect((await browser.post('/logout')).status).toBe(204);
    // The ended notice of the DELETE is heard before the write's answer is handled.
    await new Promise((resolve) => setTimeout(resolve, 200));
    hold.open();
    expect((await write).status).toBe(200);
    const replay = new Browser(t.url);
    replay.token = token;
    expect((await replay.get('/private')).status).toBe(401);
  });
});
