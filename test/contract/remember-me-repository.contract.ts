import {
  NewRememberMe,
  RememberMeRepository,
  RememberMeRotation,
  SessionStoreError,
} from 'nest-session-security';
import { at, bytes, LONG_AGO, RepositoryUnderTest, T, unique } from './repository-under-test';

function newToken(userId: string, overrides: Partial<NewRememberMe> = {}): NewRememberMe {
  return {
    selector: unique('selector'),
    handle: unique('device'),
    userId,
    validatorHash: bytes(),
    createdAt: T,
    lastUsedAt: T,
    expiresAt: at(30 * 86_400_000),
    ip: '192.0.2.1',
    userAgent: 'contract',
    ...overrides,
  };
}

function rotationOf(token: NewRememberMe, expectedHash = token.validatorHash): RememberMeRotation {
  return {
    selector: token.selector,
    expectedHash,
    validatorHash: bytes(),
    previousSuccessor: bytes(),
    at: at(60_000),
    expiresAt: at(31 * 86_400_000),
    ip: '192.0.2.2',
    userAgent: 'contract rotation',
  };
}

/**
 * The behaviour `nest-session-security` relies on from a {@link RememberMeRepository}, as Jest
 * tests (see `describeSessionRepositoryContract` for `makeRepository`).
 */
export function describeRememberMeRepositoryContract(
  name: string,
  makeRepository: () => Promise<RepositoryUnderTest<RememberMeRepository>>,
): void {
  describe(`RememberMeRepository contract: ${name}`, () => {
    let subject: RepositoryUnderTest<RememberMeRepository>;
    let repo: RememberMeRepository;
    beforeAll(async () => {
      subject = await makeRepository();
      repo = subject.repository;
    });
    afterAll(() => subject?.close?.());

    it('a new token reads back as given, never rotated; an unknown selector finds nothing', async () => {
      const token = newToken(unique('user'));
      await repo.insert(token);
      expect(await repo.find(token.selector)).toEqual({
        ...token,
        previousValidatorHash: null,
        previousSuccessor: null,
        rotatedAt: null,
      });
      expect(await repo.find(unique('selector'))).toBeNull();
    });

    it('rotates from the expected hash, keeping the previous one; a stale hash writes nothing', async () => {
      const token = newToken(unique('user'));
      await repo.insert(token);
      const rotation = rotationOf(token);
      expect(await repo.rotate(rotation)).toBe(true);
      const rotated = await repo.find(token.selector);
      expect(rotated).toEqual({
        ...token,
        validatorHash: rotation.validatorHash,
        previousValidatorHash: token.validatorHash,
        previousSuccessor: rotation.previousSuccessor,
        rotatedAt: rotation.at,
        lastUsedAt: rotation.at,
        expiresAt: rotation.expiresAt,
        ip: rotation.ip,
        userAgent: rotation.userAgent,
      });
      expect(await repo.rotate(rotationOf(token))).toBe(false);
      expect(await repo.find(token.selector)).toEqual(rotated);
      expect(await repo.rotate(rotationOf(newToken('nobody')))).toBe(false);
    });

    it('of rotations racing from one hash, exactly one wins and its validator is stored', async () => {
      const token = newToken(unique('user'));
      await repo.insert(token);
      const rotations = Array.from({ length: 4 }, () => rotationOf(token));
      const results = await Promise.all(rotations.map((rotation) => repo.rotate(rotation)));
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = rotations[results.indexOf(true)];
      expect((await repo.find(token.selector))?.validatorHash).toEqual(winner.validatorHash);
    });

    it('delete says whether there was a token, and a deleted one stays gone', async () => {
      const token = newToken(unique('user'));
      await repo.insert(token);
      expect(await repo.delete(token.selector)).toBe(true);
      expect(await repo.delete(token.selector)).toBe(false);
      expect(await repo.rotate(rotationOf(token))).toBe(false);
      expect(await repo.find(token.selector)).toBeNull();
    });

    it("lists the user's unexpired tokens, most recently used first", async () => {
      const user = unique('user');
      const older = newToken(user, { lastUsedAt: at(1000) });
      const newer = newToken(user, { lastUsedAt: at(2000) });
      for (const token of [older, newer, newToken(user, { expiresAt: at(-1) })]) {
        await repo.insert(token);
      }
      await repo.insert(newToken(unique('other')));
      const active = await repo.findActiveOfUser(user, T);
      expect(active.map((token) => token.selector)).toEqual([newer.selector, older.selector]);
    });

    it('deleteOfUser: devices by handle, all but one selector, or all; how many', async () => {
      const user = unique('user');
      const tokens = [newToken(user), newToken(user), newToken(user), newToken(user)];
      for (const token of tokens) await repo.insert(token);
      const other = newToken(unique('other'));
      await repo.insert(other);
      expect(await repo.deleteOfUser(user, { handles: [tokens[0].handle] })).toBe(1);
      expect(
        await repo.deleteOfUser(user, {
          handles: [tokens[1].handle, tokens[2].handle],
          exceptSelector: tokens[1].selector,
        }),
      ).toBe(1);
      expect(await repo.deleteOfUser(user, { exceptSelector: tokens[3].selector })).toBe(1);
      expect((await repo.findActiveOfUser(user, T)).map((t) => t.selector)).toEqual([
        tokens[3].selector,
      ]);
      expect(await repo.deleteOfUser(user, {})).toBe(1);
      expect(await repo.find(other.selector)).not.toBeNull();
    });

    it('deleteExpired deletes up to `limit` tokens expired at `now`', async () => {
      const user = unique('user');
      const expired = [1000, 2000, 3000].map((ms) =>
        newToken(user, { expiresAt: at(ms, LONG_AGO) }),
      );
      const later = newToken(user, { expiresAt: at(60_000, LONG_AGO) });
      for (const token of [...expired, later]) await repo.insert(token);
      const now = at(10_000, LONG_AGO);
      expect(await repo.deleteExpired(now, 2)).toBe(2);
      expect(await repo.deleteExpired(now, 2)).toBe(1);
      expect(await repo.deleteExpired(now, 2)).toBe(0);
      expect(await repo.find(later.selector)).not.toBeNull();
    });

    describe('a store that cannot answer fails closed', () => {
      const token = newToken('user');
      const calls: [string, (r: RememberMeRepository) => Promise<unknown>][] = [
        ['find', (r) => r.find(token.selector)],
        ['insert', (r) => r.insert(token)],
        ['rotate', (r) => r.rotate(rotationOf(token))],
        ['delete', (r) => r.delete(token.selector)],
        ['findActiveOfUser', (r) => r.findActiveOfUser('user', T)],
        ['deleteOfUser', (r) => r.deleteOfUser('user', {})],
        ['deleteExpired', (r) => r.deleteExpired(T, 10)],
      ];
      it.each(calls)('%s rejects with SessionStoreError', async (_, call) => {
        await expect(call(subject.unreachable)).rejects.toBeInstanceOf(SessionStoreError);
      });
    });
  });
}
