import {
  NewSession,
  Regeneration,
  SessionRecord,
  SessionRepository,
  SessionStoreError,
} from 'nest-session-security';
import {
  at,
  bytes,
  LONG_AGO,
  repeat,
  RepositoryUnderTest,
  T,
  unique,
} from './repository-under-test';

/** A new session of `userId` at T (presented, with a CSRF secret), with `overrides`. */
function newSession(userId: string | null, overrides: Partial<NewSession> = {}): NewSession {
  return {
    idHash: bytes(),
    handle: unique('handle'),
    userId,
    data: { a: 1, b: 'two' },
    createdAt: T,
    authenticatedAt: userId === null ? null : T,
    lastSeenAt: T,
    rotatedAt: T,
    expiresAt: at(3_600_000),
    presentedAt: T,
    csrfSecret: bytes(),
    rememberMeHandle: null,
    ip: '192.0.2.1',
    userAgent: 'contract',
    ...overrides,
  };
}

/** A regeneration of `old` at one minute past T, with a data change and a new secret. */
function regenerationOf(old: SessionRecord, overrides: Partial<Regeneration> = {}): Regeneration {
  return {
    oldHash: old.idHash,
    purpose: 'rotation',
    obsoletedAt: at(60_000),
    obsoleteExpiresAt: at(86_400_000),
    successorSeal: bytes(),
    successor: {
      idHash: bytes(),
      handle: old.handle,
      userId: old.userId,
      authenticatedAt: old.authenticatedAt,
      lastSeenAt: at(60_000),
      rotatedAt: at(60_000),
      expiresAt: at(3_660_000),
      csrfSecret: null,
      rememberMeHandle: old.rememberMeHandle,
      ip: '192.0.2.2',
      userAgent: 'contract successor',
      data: { replace: false, set: { c: true }, remove: ['b'] },
    },
    ...overrides,
  };
}

/**
 * The behaviour `nest-session-security` relies on from a {@link SessionRepository}, as Jest
 * tests: call it in a test file with a factory of the implementation under test.
 *
 * `makeRepository` runs once for the suite; its store may hold rows of other tests (each test
 * here works on users and hashes of its own, at times far from other suites'), but no server
 * key yet.
 *
 * @example
 * describeSessionRepositoryContract('RedisSessionRepository', async () => ({
 *   repository: new RedisSessionRepository(redis),
 *   unreachable: new RedisSessionRepository(new Redis({ port: 1, lazyConnect: true })),
 *   close: () => redis.quit(),
 * }));
 */
export function describeSessionRepositoryContract(
  name: string,
  makeRepository: () => Promise<RepositoryUnderTest<SessionRepository>>,
): void {
  describe(`SessionRepository contract: ${name}`, () => {
    let subject: RepositoryUnderTest<SessionRepository>;
    let repo: SessionRepository;
    beforeAll(async () => {
      subject = await makeRepository();
      repo = subject.repository;
    });
    afterAll(() => subject?.close?.());

    const one = async (idHash: Buffer): Promise<SessionRecord | undefined> =>
      (await repo.findByHashes([idHash]))[0];

    describe('serverKey', () => {
      it('stores the first candidate and returns that key to every later caller, racing ones included', async () => {
        const first = bytes();
        expect(await repo.serverKey(first, T)).toEqual(first);
        const later = await Promise.all(
          Array.from({ length: 4 }, () => repo.serverKey(bytes(), at(1000))),
        );
        expect(later).toEqual([first, first, first, first]);
      });
    });

    describe('insert and findByHashes', () => {
      it('a new session reads back as given: live, without successor, with a version', async () => {
        const session = newSession(unique('user'), { rememberMeHandle: unique('device') });
        const inserted = await repo.insert(session);
        const expected = {
          ...session,
          obsoletedAt: null,
          obsoletedBy: null,
          successor: null,
          revokedAt: null,
        };
        expect(inserted).toEqual({ ...expected, version: expect.any(Number) });
        expect(await one(session.idHash)).toEqual(inserted);
      });

      it('finds the rows among several hashes that exist, and no others', async () => {
        const [first, second] = [newSession(null), newSession(unique('user'))];
        await repo.insert(first);
        await repo.insert(second);
        const found = await repo.findByHashes([second.idHash, bytes(), first.idHash]);
        expect(found.map((record) => record.handle).sort()).toEqual(
          [first.handle, second.handle].sort(),
        );
        expect(await repo.findByHashes([bytes()])).toEqual([]);
      });
    });

    describe('update', () => {
      it('merges: keys set and removed, the rest kept, a greater version returned', async () => {
        const row = await repo.insert(newSession(null, { data: { a: 1, b: 2, keep: 'k' } }));
        const version = await repo.update(row.idHash, {
          data: { replace: false, set: { b: 3, c: { nested: [1] } }, remove: ['a'] },
        });
        expect(version).toBeGreaterThan(row.version);
        expect(await one(row.idHash)).toMatchObject({
          data: { b: 3, c: { nested: [1] }, keep: 'k' },
          version,
        });
      });

      it('replaces the whole object when asked', async () => {
        const row = await repo.insert(newSession(null, { data: { a: 1, b: 2 } }));
        await repo.update(row.idHash, { data: { replace: true, set: { z: 26 }, remove: [] } });
        expect((await one(row.idHash))?.data).toEqual({ z: 26 });
      });

      it('a touch moves lastSeenAt and expiresAt; a write without one leaves them', async () => {
        const row = await repo.insert(newSession(null));
        await repo.update(row.idHash, { data: { replace: false, set: { x: 1 }, remove: [] } });
        expect(await one(row.idHash)).toMatchObject({
          lastSeenAt: row.lastSeenAt,
          expiresAt: row.expiresAt,
        });
        const touch = { lastSeenAt: at(90_000), expiresAt: at(1_890_000) };
        expect(await repo.update(row.idHash, { touch })).not.toBeNull();
        expect(await one(row.idHash)).toMatchObject({ ...touch, data: { a: 1, b: 'two', x: 1 } });
      });

      it('a CSRF secret is stored only on a row that has none', async () => {
        const without = await repo.insert(newSession(null, { csrfSecret: null }));
        const secret = bytes();
        await repo.update(without.idHash, { csrfSecret: secret });
        expect((await one(without.idHash))?.csrfSecret).toEqual(secret);
        const withOwn = await repo.insert(newSession(null));
        await repo.update(withOwn.idHash, { csrfSecret: bytes() });
        expect((await one(withOwn.idHash))?.csrfSecret).toEqual(withOwn.csrfSecret);
      });

      it('a guard that holds (keys equal as JSON, absent keys absent) lets the write through', async () => {
        const row = await repo.insert(newSession(null, { data: { list: [1, { b: 2, a: 1 }] } }));
        const version = await repo.update(row.idHash, {
          data: { replace: false, set: { list: [1, 2] }, remove: [] },
          guard: { keys: ['list', 'missing'], expected: { list: [1, { a: 1, b: 2 }] } },
        });
        expect(version).toBeGreaterThan(row.version);
        expect((await one(row.idHash))?.data).toEqual({ list: [1, 2] });
      });

      it.each([
        ['a guarded key changed', { keys: ['a'], expected: { a: 2 } }],
        ['a key expected absent is present', { keys: ['a'], expected: {} }],
        ['a key expected present is absent', { keys: ['gone'], expected: { gone: 1 } }],
      ])('a failed guard (%s) writes nothing and returns null', async (_, guard) => {
        const row = await repo.insert(newSession(null));
        const result = await repo.update(row.idHash, {
          data: { replace: true, set: { overwritten: true }, remove: [] },
          touch: { lastSeenAt: at(120_000), expiresAt: at(1_920_000) },
          guard,
        });
        expect(result).toBeNull();
        expect(await one(row.idHash)).toEqual(row);
      });

      it('never revives a row that is gone: null, and nothing is created', async () => {
        const hash = bytes();
        const result = await repo.update(hash, {
          data: { replace: true, set: { a: 1 }, remove: [] },
          touch: { lastSeenAt: T, expiresAt: at(60_000) },
        });
        expect(result).toBeNull();
        expect(await repo.findByHashes([hash])).toEqual([]);
      });

      it('never revives an obsolete row: null, its data stays emptied', async () => {
        const row = await repo.insert(newSession(unique('user')));
        await repo.regenerate(regenerationOf(row));
        const obsolete = await one(row.idHash);
        const result = await repo.update(row.idHash, {
          data: { replace: false, set: { a: 9 }, remove: [] },
          touch: { lastSeenAt: at(120_000), expiresAt: at(1_920_000) },
          csrfSecret: bytes(),
        });
        expect(result).toBeNull();
        expect(await one(row.idHash)).toEqual(obsolete);
      });

      it('never revives a revoked row: null, it stays revoked and empty', async () => {
        const user = unique('user');
        const row = await repo.insert(newSession(user));
        await repo.revoke(user, {}, at(1000), at(86_400_000));
        const revoked = await one(row.idHash);
        const result = await repo.update(row.idHash, {
          data: { replace: false, set: { a: 9 }, remove: [] },
        });
        expect(result).toBeNull();
        expect(await one(row.idHash)).toEqual(revoked);
      });
    });

    describe('updates at once', () => {
      it('many updates at once (a store may write them together) each apply as alone', async () => {
        const rows = await Promise.all(
          ['merge', 'replace', 'touch', 'secret', 'twice', 'obsolete'].map((name) =>
            repo.insert(
              newSession(unique(name), {
                data: { a: 1, b: 2 },
                csrfSecret: name === 'secret' ? null : bytes(),
              }),
            ),
          ),
        );
        const [merge, replace, touch, secret, twice, obsolete] = rows;
        await repo.regenerate(regenerationOf(obsolete));
        const obsoleteRow = await one(obsolete.idHash);
        const gone = bytes();
        const moved = { lastSeenAt: at(90_000), expiresAt: at(1_890_000) };
        const newSecret = bytes();
        const results = await Promise.all([
          repo.update(merge.idHash, {
            data: { replace: false, set: { c: [3] }, remove: ['a'] },
          }),
          repo.update(replace.idHash, {
            data: { replace: true, set: { z: 26 }, remove: [] },
          }),
          repo.update(touch.idHash, { touch: moved }),
          repo.update(secret.idHash, { csrfSecret: newSecret }),
          repo.update(twice.idHash, {
            data: { replace: false, set: { first: 1 }, remove: [] },
          }),
          repo.update(twice.idHash, {
            data: { replace: false, set: { second: 2 }, remove: ['b'] },
          }),
          repo.update(obsolete.idHash, {
            data: { replace: false, set: { a: 9 }, remove: [] },
          }),
          repo.update(gone, { data: { replace: true, set: { a: 1 }, remove: [] } }),
        ]);
        const [merged, replaced, touched, secretSet, firstWrite, secondWrite, ...refused] = results;
        expect(refused).toEqual([null, null]);
        for (const [version, row] of [
          [merged, merge],
          [replaced, replace],
          [touched, touch],
          [secretSet, secret],
          [firstWrite, twice],
          [secondWrite, twice],
        ] as const) {
          expect(version).toBeGreaterThan(row.version);
        }
        expect(secondWrite).not.toBe(firstWrite);
        expect(await one(merge.idHash)).toMatchObject({
          data: { b: 2, c: [3] },
          lastSeenAt: merge.lastSeenAt,
          version: merged,
        });
        expect((await one(replace.idHash))?.data).toEqual({ z: 26 });
        expect(await one(touch.idHash)).toMatchObject({ ...moved, data: { a: 1, b: 2 } });
        expect(await one(secret.idHash)).toMatchObject({
          csrfSecret: newSecret,
          data: { a: 1, b: 2 },
          expiresAt: secret.expiresAt,
        });
        expect((await one(twice.idHash))?.data).toEqual({ a: 1, first: 1, second: 2 });
        expect(await one(obsolete.idHash)).toEqual(obsoleteRow);
        expect(await repo.findByHashes([gone])).toEqual([]);
      });
    });

    describe('regenerate', () => {
      it('retires the old row and creates the successor from its data, in one step', async () => {
        const row = await repo.insert(newSession(unique('user'), { rememberMeHandle: 'device' }));
        const regeneration = regenerationOf(row);
        const successor = await repo.regenerate(regeneration);
        const { data: _change, ...given } = regeneration.successor;
        expect(successor).toEqual({
          ...given,
          data: { a: 1, c: true },
          createdAt: row.createdAt,
          csrfSecret: row.csrfSecret,
          presentedAt: null,
          obsoletedAt: null,
          obsoletedBy: null,
          successor: null,
          revokedAt: null,
          version: expect.any(Number),
        });
        expect(await one(regeneration.successor.idHash)).toEqual(successor);
        expect(await one(row.idHash)).toMatchObject({
          data: {},
          obsoletedAt: regeneration.obsoletedAt,
          obsoletedBy: 'rotation',
          expiresAt: regeneration.obsoleteExpiresAt,
          successor: regeneration.successorSeal,
          revokedAt: null,
          handle: row.handle,
        });
      });

      it('a new CSRF secret and a replacing change are taken as given', async () => {
        const row = await repo.insert(newSession(unique('user')));
        const secret = bytes();
        const base = regenerationOf(row, { purpose: 'login' });
        const successor = await repo.regenerate({
          ...base,
          successor: {
            ...base.successor,
            csrfSecret: secret,
            data: { replace: true, set: { fresh: 1 }, remove: [] },
          },
        });
        expect(successor).toMatchObject({ csrfSecret: secret, data: { fresh: 1 } });
        expect((await one(row.idHash))?.obsoletedBy).toBe('login');
      });

      it('returns null and writes nothing when the old row is obsolete, revoked or gone', async () => {
        const user = unique('user');
        const row = await repo.insert(newSession(user));
        await repo.regenerate(regenerationOf(row));
        const obsolete = await one(row.idHash);
        const again = regenerationOf(row);
        expect(await repo.regenerate(again)).toBeNull();
        expect(await repo.findByHashes([again.successor.idHash])).toEqual([]);
        expect(await one(row.idHash)).toEqual(obsolete);

        const revokedRow = await repo.insert(newSession(unique('user')));
        await repo.revoke(revokedRow.userId!, {}, at(1000), at(86_400_000));
        const fromRevoked = regenerationOf(revokedRow);
        expect(await repo.regenerate(fromRevoked)).toBeNull();
        expect(await repo.findByHashes([fromRevoked.successor.idHash])).toEqual([]);

        const fromGone = regenerationOf(newSession(user) as SessionRecord);
        expect(await repo.regenerate(fromGone)).toBeNull();
        expect(await repo.findByHashes([fromGone.successor.idHash])).toEqual([]);
      });

      it('of two regenerations of one row racing, exactly one succeeds, and the row names its successor', async () => {
        await repeat(8, async () => {
          const row = await repo.insert(newSession(unique('user')));
          const [left, right] = [regenerationOf(row), regenerationOf(row)];
          const results = await Promise.all([repo.regenerate(left), repo.regenerate(right)]);
          const winners = results.filter((result) => result !== null);
          expect(winners).toHaveLength(1);
          const [won, lost] = results[0] ? [left, right] : [right, left];
          expect((await one(row.idHash))?.successor).toEqual(won.successorSeal);
          expect(await repo.findByHashes([lost.successor.idHash])).toEqual([]);
          expect(await repo.findByHashes([won.successor.idHash])).toHaveLength(1);
        });
      });
    });

    describe('markPresented', () => {
      it('records the first presentation only', async () => {
        const row = await repo.insert(newSession(unique('user')));
        const successor = (await repo.regenerate(regenerationOf(row)))!;
        expect(successor.presentedAt).toBeNull();
        await repo.markPresented(successor.idHash, at(70_000));
        await repo.markPresented(successor.idHash, at(80_000));
        expect((await one(successor.idHash))?.presentedAt).toEqual(at(70_000));
      });

      it('creates nothing for a row that is gone', async () => {
        const hash = bytes();
        await repo.markPresented(hash, T);
        expect(await repo.findByHashes([hash])).toEqual([]);
      });
    });

    describe('delete', () => {
      it('returns the row as it was, then null once it is gone', async () => {
        const row = await repo.insert(newSession(unique('user')));
        await repo.regenerate(regenerationOf(row));
        const before = await one(row.idHash);
        expect(await repo.delete(row.idHash)).toEqual(before);
        expect(await repo.findByHashes([row.idHash])).toEqual([]);
        expect(await repo.delete(row.idHash)).toBeNull();
      });
    });

    describe('findActiveOfUser', () => {
      it('lists the live, unexpired sessions of the user only', async () => {
        const user = unique('user');
        const live = await repo.insert(newSession(user));
        await repo.insert(newSession(user, { expiresAt: at(-1) }));
        await repo.insert(newSession(unique('other')));
        const retired = await repo.insert(newSession(user));
        const successor = await repo.regenerate(regenerationOf(retired));
        const active = await repo.findActiveOfUser(user, T);
        expect(active.map((record) => record.handle).sort()).toEqual(
          [live.handle, successor!.handle].sort(),
        );
      });
    });

    describe('revoke', () => {
      it('revokes every session of the user, obsolete ones included, and returns them as they were', async () => {
        const user = unique('user');
        const other = await repo.insert(newSession(unique('other')));
        const live = await repo.insert(newSession(user));
        const retired = await repo.insert(newSession(user));
        const successor = (await repo.regenerate(regenerationOf(retired)))!;
        const before = await repo.findByHashes([live.idHash, retired.idHash, successor.idHash]);
        const revoked = await repo.revoke(user, {}, at(120_000), at(86_400_000));
        expect(byHash(revoked)).toEqual(byHash(before));
        for (const record of await repo.findByHashes(before.map((row) => row.idHash))) {
          expect(record).toMatchObject({
            revokedAt: at(120_000),
            expiresAt: at(86_400_000),
            data: {},
            successor: null,
          });
        }
        expect(await repo.findActiveOfUser(user, T)).toEqual([]);
        expect(await one(other.idHash)).toEqual(other);
        expect(await repo.revoke(user, {}, at(130_000), at(86_400_000))).toEqual([]);
      });

      it('a scope of one login handle, all but one handle, or remembered devices', async () => {
        const user = unique('user');
        const [first, second, remembered] = [
          await repo.insert(newSession(user)),
          await repo.insert(newSession(user)),
          await repo.insert(newSession(user, { rememberMeHandle: 'device-1' })),
        ];
        const handles = (records: SessionRecord[]) => records.map((r) => r.handle).sort();
        expect(handles(await repo.revoke(user, { handle: first.handle }, T, at(1000)))).toEqual([
          first.handle,
        ]);
        expect(
          handles(await repo.revoke(user, { rememberMeHandles: ['device-1'] }, T, at(1000))),
        ).toEqual([remembered.handle]);
        const rest = await repo.insert(newSession(user));
        expect(
          handles(await repo.revoke(user, { exceptHandle: second.handle }, T, at(1000))),
        ).toEqual([rest.handle]);
        expect(handles(await repo.findActiveOfUser(user, T))).toEqual([second.handle]);
      });

      it('ends whole chains: a successor a racing regeneration inserts is revoked too', async () => {
        await repeat(10, async () => {
          const user = unique('user');
          const row = await repo.insert(newSession(user));
          const [, successor] = await Promise.all([
            repo.revoke(user, {}, at(120_000), at(86_400_000)),
            repo.regenerate(regenerationOf(row)),
          ]);
          expect(await repo.findActiveOfUser(user, T)).toEqual([]);
          if (successor) expect((await one(successor.idHash))?.revokedAt).toEqual(at(120_000));
        });
      });

      it('revokeAll ends every session and counts the live ones', async () => {
        const user = unique('user');
        await repo.insert(newSession(user));
        const retired = await repo.insert(newSession(user));
        await repo.regenerate(regenerationOf(retired));
        expect(await repo.revokeAll(user, at(1000), at(86_400_000))).toBe(2);
        expect(await repo.findActiveOfUser(user, T)).toEqual([]);
        expect(await repo.revokeAll(user, at(2000), at(86_400_000))).toBe(0);
      });
    });

    describe('revokeLeastRecentlyUsed', () => {
      it('keeps the `keep` most recently used active sessions and revokes the rest', async () => {
        const user = unique('user');
        const rows = [];
        for (const minutes of [3, 1, 4, 2]) {
          rows.push(await repo.insert(newSession(user, { lastSeenAt: at(minutes * 60_000) })));
        }
        const revoked = await repo.revokeLeastRecentlyUsed(user, 2, at(300_000), at(86_400_000));
        expect(revoked.map((record) => record.handle).sort()).toEqual(
          [rows[1].handle, rows[3].handle].sort(),
        );
        expect(
          (await repo.findActiveOfUser(user, at(300_000))).map((r) => r.handle).sort(),
        ).toEqual([rows[0].handle, rows[2].handle].sort());
        expect(await repo.revokeLeastRecentlyUsed(user, 2, at(300_000), at(86_400_000))).toEqual(
          [],
        );
      });
    });

    describe('serializeUser', () => {
      it('concurrent work of one user runs one after the other: count-then-insert holds a limit', async () => {
        const user = unique('user');
        const admitted = await Promise.all(
          Array.from({ length: 6 }, () =>
            repo.serializeUser(user, async (serialized) => {
              const active = await serialized.findActiveOfUser(user, T);
              await new Promise((resolve) => setTimeout(resolve, 5));
              if (active.length >= 2) return false;
              await serialized.insert(newSession(user));
              return true;
            }),
          ),
        );
        expect(admitted.filter(Boolean)).toHaveLength(2);
        expect(await repo.findActiveOfUser(user, T)).toHaveLength(2);
      });

      it('returns what the work returns, rejects with what it throws, and goes on after a failure', async () => {
        const user = unique('user');
        const failed = repo.serializeUser(user, () => Promise.reject(new Error('work failed')));
        const next = repo.serializeUser(user, () => Promise.resolve('next'));
        await expect(failed).rejects.toThrow('work failed');
        await expect(next).resolves.toBe('next');
      });
    });

    describe('deleteExpired', () => {
      it('deletes up to `limit` rows expired at `now`, whatever their state, and keeps the rest', async () => {
        const user = unique('user');
        const expired = [
          await repo.insert(newSession(user, { expiresAt: at(1000, LONG_AGO) })),
          await repo.insert(newSession(null, { expiresAt: at(2000, LONG_AGO) })),
        ];
        const obsolete = await repo.insert(newSession(user, { expiresAt: at(3000, LONG_AGO) }));
        await repo.regenerate(regenerationOf(obsolete, { obsoleteExpiresAt: at(3000, LONG_AGO) }));
        const later = await repo.insert(newSession(user, { expiresAt: at(60_000, LONG_AGO) }));
        const now = at(10_000, LONG_AGO);
        expect(await repo.deleteExpired(now, 2)).toBe(2);
        expect(await repo.deleteExpired(now, 2)).toBe(1);
        expect(await repo.deleteExpired(now, 2)).toBe(0);
        const hashes = [...expired, obsolete, later].map((row) => row.idHash);
        expect((await repo.findByHashes(hashes)).map((row) => row.handle)).toEqual([later.handle]);
      });
    });

    describe('a store that cannot answer fails closed', () => {
      const session = newSession('user');
      const calls: [string, (r: SessionRepository) => Promise<unknown>][] = [
        ['serverKey', (r) => r.serverKey(bytes(), T)],
        ['findByHashes', (r) => r.findByHashes([bytes()])],
        ['insert', (r) => r.insert(session)],
        ['update', (r) => r.update(bytes(), { touch: { lastSeenAt: T, expiresAt: T } })],
        ['regenerate', (r) => r.regenerate(regenerationOf(session as SessionRecord))],
        ['markPresented', (r) => r.markPresented(bytes(), T)],
        ['delete', (r) => r.delete(bytes())],
        ['findActiveOfUser', (r) => r.findActiveOfUser('user', T)],
        ['revoke', (r) => r.revoke('user', {}, T, T)],
        ['revokeAll', (r) => r.revokeAll('user', T, T)],
        ['revokeLeastRecentlyUsed', (r) => r.revokeLeastRecentlyUsed('user', 1, T, T)],
        ['serializeUser', (r) => r.serializeUser('user', (s) => s.findActiveOfUser('user', T))],
        ['deleteExpired', (r) => r.deleteExpired(T, 10)],
      ];
      it.each(calls)('%s rejects with SessionStoreError', async (_, call) => {
        await expect(call(subject.unreachable)).rejects.toBeInstanceOf(SessionStoreError);
      });
    });
  });
}

function byHash(records: SessionRecord[]): SessionRecord[] {
  return [...records].sort((a, b) => a.idHash.compare(b.idHash));
}
