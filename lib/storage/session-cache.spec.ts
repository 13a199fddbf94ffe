import { ManualClock } from '../core/clock';
import type { SessionRecord } from '../core/session-record';
import { RECORD_T0, sessionRecord } from '../../test/support/session-records';
import { SessionCache } from './session-cache';

const T0 = RECORD_T0;
const HOUR = 3_600_000;

function hashOf(n: number): Buffer {
  const hash = Buffer.alloc(32);
  hash.writeUInt32BE(n, 28);
  return hash;
}

/** The cache's key of session `n`: its hash in hex. */
function hexOf(n: number): string {
  return hashOf(n).toString('hex');
}

function record(n: number, changes: Partial<SessionRecord> = {}): SessionRecord {
  return sessionRecord({
    idHash: hashOf(n),
    handle: `h${n}`,
    userId: 'alice',
    data: { n },
    authenticatedAt: T0,
    expiresAt: new Date(T0.getTime() + HOUR),
    ...changes,
  });
}

const present = async () => true;

/** The listener's notices of a connection that listens and joined the other instances. */
async function listenAndJoin(cache: SessionCache): Promise<void> {
  await cache.onNotice({ kind: 'resync' }, present);
  await cache.onNotice({ kind: 'joined' }, present);
}

async function listeningCache(
  limits = { maxEntries: 100, maxBytes: 1_000_000, maxAge: 5_000 },
  clock = new ManualClock(T0),
): Promise<{ cache: SessionCache; clock: ManualClock; sent: string[][] }> {
  const sent: string[][] = [];
  const cache = new SessionCache(limits, clock, async (payloads) => {
    sent.push(payloads);
  });
  await listenAndJoin(cache);
  return { cache, clock, sent };
}

describe('SessionCache', () => {
  it('is not used before the listener has resynced and joined, nor when the change triggers are missing', async () => {
    const cache = new SessionCache(
      { maxEntries: 10, maxBytes: 100_000, maxAge: 5_000 },
      new ManualClock(T0),
      async () => undefined,
    );
    cache.keep(record(1), cache.ticket());
    expect(cache.get(hexOf(1))).toBeUndefined();
    await cache.onNotice({ kind: 'resync' }, async () => false);
    await cache.onNotice({ kind: 'joined' }, present);
    expect(cache.usable).toBe(false);
    cache.keep(record(1), cache.ticket());
    expect(cache.get(hexOf(1))).toBeUndefined();
    await cache.onNotice({ kind: 'resync' }, present);
    // Listening, but the other instances do not know of this one yet: they may not announce.
    expect(cache.usable).toBe(false);
    await cache.onNotice({ kind: 'joined' }, present);
    expect(cache.usable).toBe(true);
  });

  it('joined while the triggers are being checked: used once they are found', async () => {
    const cache = new SessionCache(
      { maxEntries: 10, maxBytes: 100_000, maxAge: 5_000 },
      new ManualClock(T0),
      async () => undefined,
    );
    let found!: (present: boolean) => void;
    const checking = cache.onNotice({ kind: 'resync' }, () => new Promise((r) => (found = r)));
    await cache.onNotice({ kind: 'joined' }, present);
    expect(cache.usable).toBe(false);
    found(true);
    await checking;
    expect(cache.usable).toBe(true);
  });

  it('a failed check for the triggers is asked again: the cache is used once it answers', async () => {
    const cache = new SessionCache(
      { maxEntries: 10, maxBytes: 100_000, maxAge: 5_000 },
      new ManualClock(T0),
      async () => undefined,
    );
    let asked = 0;
    const flaky = async () => {
      asked++;
      if (asked === 1) throw new Error('connection terminated');
      return true;
    };
    const checking = cache.onNotice({ kind: 'resync' }, flaky);
    await cache.onNotice({ kind: 'joined' }, present);
    expect(cache.usable).toBe(false);
    await checking;
    expect(asked).toBe(2);
    expect(cache.usable).toBe(true);
  });

  it('a connection lost while its triggers were being checked: its check counts for nothing on the next connection', async () => {
    const { cache } = await listeningCache();
    const checks: ((present: boolean) => void)[] = [];
    const checking = () => new Promise<boolean>((r) => checks.push(r));
    const first = cache.onNotice({ kind: 'resync' }, checking);
    await cache.onNotice({ kind: 'lost' }, present);
    const second = cache.onNotice({ kind: 'resync' }, checking);
    await cache.onNotice({ kind: 'joined' }, present);
    checks[0](true);
    await first;
    expect(cache.usable).toBe(false);
    checks[1](false);
    await second;
    expect(cache.usable).toBe(false);
    cache.keep(record(1), cache.ticket());
    expect(cache.get(hexOf(1))).toBeUndefined();
  });

  it('answers with a copy: a reader changing its data changes nothing kept', async () => {
    const { cache } = await listeningCache();
    cache.keep(record(1, { data: { cart: ['a'] } }), cache.ticket());
    const first = cache.get(hexOf(1))!;
    (first.data.cart as string[]).push('b');
    expect(cache.get(hexOf(1))!.data).toEqual({ cart: ['a'] });
  });

  it('keeps only live, presented sessions', async () => {
    const { cache } = await listeningCache();
    cache.keep(record(1, { obsoletedAt: T0 }), cache.ticket());
    cache.keep(record(2, { revokedAt: T0 }), cache.ticket());
    cache.keep(record(3, { presentedAt: null }), cache.ticket());
    expect([1, 2, 3].map((n) => cache.get(hexOf(n)))).toEqual([undefined, undefined, undefined]);
  });

  it('a read under way keeps nothing when its row changed meanwhile, unless it read that version', async () => {
    const { cache } = await listeningCache();
    const ticket = cache.ticket();
    await cache.onNotice(
      { kind: 'changed', idHashes: [`${hashOf(1).toString('hex')}:2`] },
      present,
    );
    cache.keep(record(1, { version: 1 }), ticket);
    expect(cache.get(hexOf(1))).toBeUndefined();
    cache.keep(record(1, { version: 2 }), ticket);
    expect(cache.get(hexOf(1))?.version).toBe(2);
  });

  it('a newer change of a row supersedes an older one: a read under way of the older version keeps nothing', async () => {
    const { cache } = await listeningCache();
    const ticket = cache.ticket();
    cache.forget(hashOf(1), 2);
    cache.forget(hashOf(1), 3);
    cache.keep(record(1, { version: 2 }), ticket);
    expect(cache.get(hexOf(1))).toBeUndefined();
    cache.keep(record(1, { version: 3 }), ticket);
    expect(cache.get(hexOf(1))?.version).toBe(3);
  });

  it("a user's invalidation never counts as a row's, even under the same text", async () => {
    const { cache } = await listeningCache();
    const ticket = cache.ticket();
    cache.forgetUser(hexOf(2));
    cache.keep(record(2, { userId: 'bob', version: 1 }), ticket);
    expect(cache.get(hexOf(2))?.version).toBe(1);
  });

  it('past the log limit, counting rows and users together, reads under way keep nothing', async () => {
    const { cache } = await listeningCache();
    const ticket = cache.ticket();
    for (let n = 0; n < 5_000; n++) cache.forget(hashOf(100 + n), 1);
    for (let n = 0; n < 5_000; n++) cache.forgetUser(`user-${n}`);
    cache.forget(hashOf(99_999), 1);
    cache.keep(record(1, { version: 1 }), ticket);
    expect(cache.get(hexOf(1))).toBeUndefined();
    cache.keep(record(1, { version: 1 }), cache.ticket());
    expect(cache.get(hexOf(1))?.version).toBe(1);
  });

  it('a change without a version (a deletion, plain SQL) stops every read under way', async () => {
    const { cache } = await listeningCache();
    const ticket = cache.ticket();
    cache.forget(hashOf(1));
    cache.keep(record(1, { version: 9 }), ticket);
    expect(cache.get(hexOf(1))).toBeUndefined();
    // A read that starts after it keeps what it read.
    cache.keep(record(1, { version: 9 }), cache.ticket());
    expect(cache.get(hexOf(1))?.version).toBe(9);
  });

  it('a write answered after a deletion it preceded keeps nothing (answers come in any order)', async () => {
    const { cache } = await listeningCache();
    // The write's UPDATE commits (version 2), then a logout's DELETE; the DELETE is answered
    // first, the write after, telling of its version.
    const ticket = cache.ticket();
    cache.forget(hashOf(1));
    cache.forget(hashOf(1), 2);
    cache.keep(record(1, { version: 2 }), ticket);
    expect(cache.get(hexOf(1))).toBeUndefined();
    // A write that starts after both keeps what it wrote.
    const later = cache.ticket();
    cache.forget(hashOf(1), 3);
    cache.keep(record(1, { version: 3 }), later);
    expect(cache.get(hexOf(1))?.version).toBe(3);
  });

  it('a notification of the version kept leaves it; a newer one or none drops it', async () => {
    const { cache } = await listeningCache();
    const hex = hashOf(1).toString('hex');
    cache.keep(record(1, { version: 3 }), cache.ticket());
    await cache.onNotice({ kind: 'changed', idHashes: [`${hex}:3`] }, present);
    expect(cache.get(hexOf(1))?.version).toBe(3);
    await cache.onNotice({ kind: 'changed', idHashes: [`${hex}:4`] }, present);
    expect(cache.get(hexOf(1))).toBeUndefined();
    cache.keep(record(1, { version: 4 }), cache.ticket());
    await cache.onNotice({ kind: 'changed', idHashes: [hex] }, present);
    expect(cache.get(hexOf(1))).toBeUndefined();
  });

  it("forgetting a user drops every copy of the user's sessions and stops reads under way", async () => {
    const { cache } = await listeningCache();
    cache.keep(record(1), cache.ticket());
    cache.keep(record(2, { userId: 'bob' }), cache.ticket());
    const ticket = cache.ticket();
    cache.forgetUser('alice');
    cache.keep(record(3), ticket);
    expect(cache.get(hexOf(1))).toBeUndefined();
    expect(cache.get(hexOf(3))).toBeUndefined();
    expect(cache.get(hexOf(2))?.userId).toBe('bob');
  });

  it('a lost connection empties it and stops it until the next resync; a truncation empties it', async () => {
    const { cache } = await listeningCache();
    cache.keep(record(1), cache.ticket());
    await cache.onNotice({ kind: 'lost' }, present);
    expect(cache.usable).toBe(false);
    await listenAndJoin(cache);
    expect(cache.get(hexOf(1))).toBeUndefined();
    cache.keep(record(1), cache.ticket());
    await cache.onNotice({ kind: 'cleared' }, present);
    expect(cache.size).toBe(0);
  });

  it('a copy is used for maxAge at most, and never past the session’s own deadline', async () => {
    const { cache, clock } = await listeningCache();
    cache.keep(record(1), cache.ticket());
    clock.advance(5_000);
    expect(cache.get(hexOf(1))).toBeDefined();
    clock.advance(1);
    expect(cache.get(hexOf(1))).toBeUndefined();
    cache.keep(record(2, { expiresAt: new Date(clock.now().getTime() + 1_000) }), cache.ticket());
    clock.advance(1_000);
    expect(cache.get(hexOf(2))).toBeUndefined();
  });

  it('stays within maxEntries and maxBytes, the least recently used going first', async () => {
    const { cache } = await listeningCache({ maxEntries: 3, maxBytes: 1_000_000, maxAge: 5_000 });
    for (const n of [1, 2, 3]) cache.keep(record(n), cache.ticket());
    cache.get(hexOf(1));
    cache.keep(record(4), cache.ticket());
    expect(cache.size).toBe(3);
    expect(cache.get(hexOf(2))).toBeUndefined();
    expect(cache.get(hexOf(1))).toBeDefined();

    const small = await listeningCache({ maxEntries: 1_000, maxBytes: 8_000, maxAge: 5_000 });
    const big = { blob: 'x'.repeat(1_000) };
    for (let n = 0; n < 10; n++) small.cache.keep(record(n, { data: big }), small.cache.ticket());
    expect(small.cache.weight).toBeLessThanOrEqual(8_000);
    expect(small.cache.size).toBe(2);
  });

  it('stays within its bound after 1,000,000 distinct sessions', async () => {
    const { cache } = await listeningCache({
      maxEntries: 10_000,
      maxBytes: 33_554_432,
      maxAge: 5_000,
    });
    for (let n = 0; n < 1_000_000; n++) {
      cache.keep(record(n), cache.ticket());
      cache.get(hexOf(n));
    }
    expect(cache.size).toBe(10_000);
    expect(cache.weight).toBeLessThanOrEqual(33_554_432);
  });

  it("an ended session's notice drops its copy, whatever its version", async () => {
    const { cache } = await listeningCache();
    cache.keep(record(1, { version: 7 }), cache.ticket());
    await cache.onNotice({ kind: 'ended', idHashes: [hashOf(1).toString('hex')] }, present);
    expect(cache.get(hexOf(1))).toBeUndefined();
  });

  it("announces this instance's changes to the others, those of one tick in one statement", async () => {
    const { cache, sent } = await listeningCache();
    cache.announce(hashOf(1), 2);
    cache.announce(hashOf(2), 5);
    expect(sent).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toEqual([[`${hashOf(1).toString('hex')}:2`, `${hashOf(2).toString('hex')}:5`]]);
  });

  it('announces nothing while no other instance may keep copies, and again once one may', async () => {
    const sent: string[][] = [];
    let others = false;
    const cache = new SessionCache(
      { maxEntries: 100, maxBytes: 1_000_000, maxAge: 5_000 },
      new ManualClock(T0),
      async (payloads) => {
        sent.push(payloads);
      },
      () => others,
    );
    await listenAndJoin(cache);
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    cache.announce(hashOf(1), 2);
    await tick();
    expect(sent).toEqual([]);
    others = true;
    cache.announce(hashOf(2), 3);
    await tick();
    expect(sent).toEqual([[`${hashOf(2).toString('hex')}:3`]]);
  });

  it('announces what comes while a statement is under way together, once that one is done', async () => {
    const sent: string[][] = [];
    let finish!: () => void;
    const cache = new SessionCache(
      { maxEntries: 100, maxBytes: 1_000_000, maxAge: 5_000 },
      new ManualClock(T0),
      (payloads) => {
        sent.push(payloads);
        return new Promise((resolve) => (finish = resolve));
      },
    );
    await listenAndJoin(cache);
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    cache.announce(hashOf(1), 2);
    await tick();
    cache.announce(hashOf(2), 3);
    await tick();
    cache.announce(hashOf(3), 4);
    await tick();
    // The first statement is under way: the next two wait for it.
    expect(sent).toEqual([[`${hashOf(1).toString('hex')}:2`]]);
    finish();
    await tick();
    expect(sent).toEqual([
      [`${hashOf(1).toString('hex')}:2`],
      [`${hashOf(2).toString('hex')}:3`, `${hashOf(3).toString('hex')}:4`],
    ]);
    finish();
    await tick();
    cache.announce(hashOf(4), 5);
    await tick();
    expect(sent).toHaveLength(3);
  });
});
