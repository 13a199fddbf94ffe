import { crossesAuthentication } from '../core/obsolete-id-policy';
import { SessionRecord } from '../core/session-record';
import { assessSession, SessionTimings, SessionVerdict } from '../core/session-policy';
import { hashToken, hashTokenHex } from '../core/session-token';
import { openSuccessor } from '../core/successor-seal';
import { SessionRepository } from '../storage/session.repository';

/** A stored session and the token that reaches it. */
export interface ReachedSession {
  token: string;
  record: SessionRecord;
}

/**
 * Successors are followed at most this deep: each hop is a regeneration inside the previous
 * one's grace period, which busy tabs racing rotations can chain a few times.
 */
export const MAX_SUCCESSOR_HOPS = 10;

/**
 * The session `token` (hashed to `hexIdHash`) reaches in the copy its store keeps at hand, found
 * without waiting; `undefined` when there is none, and then the store decides
 * ({@link findStoredSessions}).
 */
export function sessionAtHand(
  repository: SessionRepository,
  token: string,
  hexIdHash: string,
): ReachedSession | undefined {
  const record = repository.findAtHand(hexIdHash);
  return record && { token, record };
}

/**
 * The sessions among `tokens`, each with its token, in the order of `tokens`: one token's from
 * the copy at hand when there is one, else from the store.
 */
export async function findSessions(
  repository: SessionRepository,
  tokens: string[],
): Promise<ReachedSession[]> {
  if (tokens.length !== 1) return findStoredSessions(repository, tokens, tokens.map(hashToken));
  const hexIdHash = hashTokenHex(tokens[0]);
  const atHand = sessionAtHand(repository, tokens[0], hexIdHash);
  if (atHand) return [atHand];
  return findStoredSessions(repository, tokens, [Buffer.from(hexIdHash, 'hex')]);
}

/** {@link findSessions} from the store only (the caller found nothing at hand); `hashes` of `tokens`. */
export async function findStoredSessions(
  repository: SessionRepository,
  tokens: readonly string[],
  hashes: Buffer[],
): Promise<ReachedSession[]> {
  return withTokens(tokens, hashes, await repository.findByHashes(hashes));
}

/** Each of `records` with the token among `tokens` (hashed to `hashes`) that reaches it. */
function withTokens(
  tokens: readonly string[],
  hashes: Buffer[],
  records: SessionRecord[],
): ReachedSession[] {
  return tokens.flatMap((token, index) => {
    const record = records.find((candidate) => candidate.idHash.equals(hashes[index]));
    return record ? [{ token, record }] : [];
  });
}

/** The successor of an obsolete session; only the holder of its token can open the seal. */
export async function successorOf(
  repository: SessionRepository,
  reached: ReachedSession,
): Promise<ReachedSession | null> {
  if (!reached.record.successor) return null;
  const token = openSuccessor(reached.token, reached.record.successor);
  return token ? ((await findSessions(repository, [token]))[0] ?? null) : null;
}

/**
 * Where `token` leads now: the live session at the end of same-user regenerations within grace;
 * `'signed-in'` when the chain crossed an authentication boundary (the holder's session became
 * someone's sign-in: it must reach nothing of it); else the verdict on the session where the
 * chain ends (revoked, expired, obsolete beyond grace), `null` when it is gone.
 */
export async function followChain(
  repository: SessionRepository,
  token: string,
  now: Date,
  timings: SessionTimings,
): Promise<ReachedSession | 'signed-in' | { ended: SessionVerdict | null }> {
  let reached: ReachedSession | null = (await findSessions(repository, [token]))[0] ?? null;
  for (let hop = 0; reached && hop <= MAX_SUCCESSOR_HOPS; hop++) {
    const verdict = assessSession(reached.record, now, timings);
    if (verdict.state === 'active') return reached;
    if (verdict.state !== 'obsolete' || !verdict.withinGrace) return { ended: verdict };
    if (crossesAuthentication(reached.record.obsoletedBy)) return 'signed-in';
    reached = await successorOf(repository, reached);
  }
  return { ended: null };
}

/**
 * Where a request that loaded `token` goes on after a concurrent regeneration retired it (the
 * request was in flight, so the successor's being in use does not matter here): see
 * {@link followChain}; `null` when the session ended.
 */
export async function continuationOf(
  repository: SessionRepository,
  token: string,
  now: Date,
  timings: SessionTimings,
): Promise<ReachedSession | 'signed-in' | null> {
  const next = await followChain(repository, token, now, timings);
  return next === 'signed-in' || 'record' in next ? next : null;
}
