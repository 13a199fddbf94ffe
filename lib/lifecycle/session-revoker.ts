import { Injectable } from '@nestjs/common';
import { Clock } from '../core/clock';
import { SessionRecord } from '../core/session-record';
import { obsoleteExpiry } from '../core/session-policy';
import { hashToken } from '../core/session-token';
import { openSuccessor } from '../core/successor-seal';
import { describeSession, SessionEvents } from '../events/session-events';
import { EventRequestInfo, SessionRevokedEvent } from '../events/session-event';
import { InjectSessionOptions } from '../options/session-options.token';
import type { ResolvedSessionOptions } from '../options/resolve-session-options';
import { RememberMeRepository } from '../storage/remember-me.repository';
import { RememberMeCredentials, validatorMatches } from '../core/remember-me-token';
import { RevocationScope, SessionRepository } from '../storage/session.repository';
import { MAX_SUCCESSOR_HOPS } from './session-chain';
import { SessionContext } from './session-context';

/**
 * Which remember-me tokens go with a revocation: those of the revoked sessions' devices, every
 * token of the user, or every token but the one the caller holds with its current validator
 * (a selector alone proves nothing).
 */
export type ForgottenDevices = 'revoked' | 'all' | { allBut: RememberMeCredentials | null };

/** The client reported for a revocation made outside a request (an admin job, a script). */
const NO_CLIENT: EventRequestInfo = { ip: null, userAgent: null };

/**
 * Ending sessions, in one place: every revocation (device list, sign out everywhere, password
 * change, attack responses, the session limit) computes the retention of the revoked rows here,
 * ends whole chains (the repository revokes a successor that a concurrent regeneration inserts),
 * forgets the remember-me tokens that would otherwise start a session again right away, and
 * reports what it ended; ending the request's own session (logout) happens here too.
 */
@Injectable()
export class SessionRevoker {
  constructor(
    @InjectSessionOptions() private readonly options: ResolvedSessionOptions,
    private readonly repository: SessionRepository,
    private readonly rememberMe: RememberMeRepository,
    private readonly events: SessionEvents,
    private readonly clock: Clock,
  ) {}

  /**
   * Revokes the user's sessions in `scope` and the remember-me tokens `devices` names; emits
   * `session.revoked` with `reason` when something was ended. `current` is the request that
   * asks (`null` outside one): its client is reported, and when the scope names its own login
   * (`scope.handle`) and something was revoked, its session ends with this response (cookie
   * cleared). Returns the revoked rows and how many remember-me tokens were deleted.
   */
  async revoke(
    userId: string,
    scope: RevocationScope,
    devices: ForgottenDevices,
    current: SessionContext | null,
    reason?: SessionRevokedEvent['reason'],
  ): Promise<{ sessions: SessionRecord[]; forgotten: number }> {
    const now = this.clock.now();
    // Tokens first: a remembered device revoked here cannot restore a session in between.
    let forgotten = devices === 'revoked' ? 0 : await this.forgetAllBut(userId, devices);
    const sessions = await this.repository.revoke(userId, scope, now, this.retention(now));
    // Again after: a sign-in that stored its token between the two (`RememberMeService.issue`
    // checks its session only after storing the token) loses it here.
    if (devices !== 'revoked') forgotten += await this.forgetAllBut(userId, devices);
    if (devices === 'revoked') {
      const forgottenDevices = await this.forgetDevicesOf(userId, sessions, scope.handle);
      forgotten = forgottenDevices.count;
      sessions.push(...(await this.endRestoredFrom(userId, forgottenDevices.handles, now)));
    }
    if (sessions.length === 0) return { sessions, forgotten };
    if (reason) this.report(userId, sessions, reason, current?.client ?? NO_CLIENT, now);
    // Its rows stay, revoked (a replay is answered `session_revoked`): not deleted here.
    if (scope.handle !== undefined && current?.record?.handle === scope.handle) current.end();
    return { sessions, forgotten };
  }

  /**
   * The sessions restored from devices just forgotten: a restore that checked its token before
   * the token went may have inserted its session after the first revoking pass.
   */
  private async endRestoredFrom(
    userId: string,
    devices: string[],
    now: Date,
  ): Promise<SessionRecord[]> {
    if (devices.length === 0) return [];
    return this.repository.revoke(userId, { rememberMeHandles: devices }, now, this.retention(now));
  }

  /**
   * Every session and remember-me token of the user; how many active sessions were ended. The
   * session of `current`, when it is the user's, ends with this response too (cookies cleared).
   */
  async revokeAll(userId: string, current: SessionContext | null): Promise<number> {
    const now = this.clock.now();
    await this.rememberMe.deleteOfUser(userId, {});
    const count = await this.repository.revokeAll(userId, now, this.retention(now));
    // Again after: a token stored by a sign-in that ran between the two goes too.
    await this.rememberMe.deleteOfUser(userId, {});
    if (current?.record?.userId === userId) {
      current.end();
      current.forgetRememberMe();
    }
    return count;
  }

  /**
   * After sessions were evicted under `maxSessionsPerUser`: forgets their remembered devices
   * (which would otherwise sign them in again at once) and reports them.
   */
  async forgetEvicted(
    userId: string,
    evicted: SessionRecord[],
    request: EventRequestInfo,
    /** The device restoring right now, whose other tabs may be among the evicted. */
    restoringDevice?: string,
  ): Promise<void> {
    await this.forgetDevicesOf(userId, evicted, undefined, restoringDevice);
    this.report(userId, evicted, 'limit', request, this.clock.now());
  }

  /**
   * Revokes the least recently used active sessions of `userId` so that at most `keep` remain
   * (the session limit); returns them. Runs on `repository`, the user's serialised transaction;
   * call `forgetEvicted` with the result once it is over.
   */
  evictLeastRecentlyUsed(
    repository: SessionRepository,
    userId: string,
    keep: number,
  ): Promise<SessionRecord[]> {
    const now = this.clock.now();
    return repository.revokeLeastRecentlyUsed(userId, keep, now, this.retention(now));
  }

  /**
   * Ends the request's own session (logout, a user no longer found, a restore whose device was
   * forgotten meanwhile): its row is deleted with every successor a concurrent regeneration
   * gave it, and the request goes on anonymous with its cookie cleared. Returns the session it
   * ended, `null` when the request had none.
   */
  async endCurrent(context: SessionContext): Promise<SessionRecord | null> {
    const { record, token } = context;
    if (token) await this.endChain(token);
    context.end();
    return token ? record : null;
  }

  /**
   * Deletes the session `token` reaches and every successor a concurrent regeneration gave it
   * (followed with the token, as only its holder can).
   */
  private async endChain(token: string): Promise<void> {
    let current = await this.repository.delete(hashToken(token));
    let currentToken = token;
    for (let hop = 0; current?.successor && hop < MAX_SUCCESSOR_HOPS; hop++) {
      const next = openSuccessor(currentToken, current.successor);
      if (!next) break;
      currentToken = next;
      current = await this.repository.delete(hashToken(next));
    }
  }

  /**
   * Forgets the remember-me token `held` names only when the request proves it holds it (the
   * current validator) or it belongs to `userId`; whether one was deleted.
   */
  async forgetHeldDevice(held: RememberMeCredentials, userId: string | null): Promise<boolean> {
    const token = await this.rememberMe.find(held.selector);
    if (!token) return false;
    if (!validatorMatches(held.validator, token.validatorHash) && token.userId !== userId) {
      return false;
    }
    return this.rememberMe.delete(token.selector);
  }

  private async forgetAllBut(
    userId: string,
    devices: 'all' | { allBut: RememberMeCredentials | null },
  ): Promise<number> {
    const kept = devices === 'all' ? null : devices.allBut;
    const keep = kept ? await this.rememberMe.find(kept.selector) : null;
    const exceptSelector =
      keep && keep.userId === userId && validatorMatches(kept!.validator, keep.validatorHash)
        ? keep.selector
        : undefined;
    return this.rememberMe.deleteOfUser(userId, { exceptSelector });
  }

  /** The tokens the revoked sessions issued or were restored from: how many, and their devices. */
  private async forgetDevicesOf(
    userId: string,
    revoked: SessionRecord[],
    handle?: string,
    spare?: string,
  ): Promise<{ count: number; handles: string[] }> {
    const handles = new Set<string>(handle ? [handle] : []);
    for (const record of revoked) {
      handles.add(record.handle);
      if (record.rememberMeHandle) handles.add(record.rememberMeHandle);
    }
    if (spare !== undefined) handles.delete(spare);
    if (handles.size === 0) return { count: 0, handles: [] };
    const count = await this.rememberMe.deleteOfUser(userId, { handles: [...handles] });
    return { count, handles: count > 0 ? [...handles] : [] };
  }

  private report(
    userId: string,
    revoked: SessionRecord[],
    reason: SessionRevokedEvent['reason'],
    request: EventRequestInfo,
    at: Date,
  ): void {
    this.events.emit({
      type: 'session.revoked',
      at,
      request,
      userId,
      reason,
      sessions: revoked.map(describeSession),
    });
  }

  /** Until when revoked rows are kept, so that their next use is answered as revoked. */
  private retention(now: Date): Date {
    return obsoleteExpiry(now, this.options.timings);
  }
}
