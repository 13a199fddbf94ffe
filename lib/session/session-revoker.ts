import { Injectable } from '@nestjs/common';
import { Clock } from '../core/clock';
import { SessionRecord } from '../core/session-record';
import { obsoleteExpiry } from '../core/session-policy';
import { hashToken } from '../core/session-token';
import { openSuccessor } from '../core/successor-seal';
import { describeSession, SessionEvents } from '../events/session-events';
import { EventRequestInfo, SessionRevokedEvent } from '../events/session-event';
import { InjectSessionOptions } from '../options/session-options.provider';
import type { ResolvedSessionOptions } from '../options/resolve-session-options';
import { RememberMeRepository } from '../remember-me/remember-me.repository';
import { RememberMeCredentials, validatorMatches } from '../remember-me/remember-me-token';
import { RevocationScope, SessionRepository } from '../storage/session.repository';
import { MAX_SUCCESSOR_HOPS } from './session-chain';

/**
 * Which remember-me tokens go with a revocation: those of the revoked sessions' devices, every
 * token of the user, or every token but the one the caller holds with its current validator
 * (a selector alone proves nothing).
 */
export type ForgottenDevices = 'revoked' | 'all' | { allBut: RememberMeCredentials | null };

/**
 * Ending sessions, in one place: every revocation ends whole chains (the repository revokes a
 * successor that a concurrent regeneration inserts), forgets the remember-me tokens that would
 * otherwise start a session again right away, and reports what it ended.
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
   * `session.revoked` with `reason` when something was ended. Returns the revoked rows and how
   * many remember-me tokens were deleted.
   */
  async revoke(
    userId: string,
    scope: RevocationScope,
    devices: ForgottenDevices,
    request: EventRequestInfo,
    reason?: SessionRevokedEvent['reason'],
  ): Promise<{ sessions: SessionRecord[]; forgotten: number }> {
    const now = this.clock.now();
    // Tokens first: a remembered device revoked here cannot restore a session in between.
    let forgotten = devices === 'revoked' ? 0 : await this.forgetAllBut(userId, devices);
    const sessions = await this.repository.revoke(userId, scope, now, this.retention(now));
    if (devices === 'revoked') {
      const forgottenDevices = await this.forgetDevicesOf(userId, sessions, scope.handle);
      forgotten = forgottenDevices.count;
      sessions.push(...(await this.endRestoredFrom(userId, forgottenDevices.handles, now)));
    }
    if (reason && sessions.length > 0) this.report(userId, sessions, reason, request, now);
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

  /** Every session and remember-me token of the user; how many active sessions were ended. */
  async revokeAll(userId: string): Promise<number> {
    const now = this.clock.now();
    await this.rememberMe.deleteOfUser(userId, {});
    return this.repository.revokeAll(userId, now, this.retention(now));
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
   * Deletes the session `token` reaches and every successor a concurrent regeneration gave it
   * (followed with the token, as only its holder can); the first row deleted, if any.
   */
  async endChain(token: string): Promise<SessionRecord | null> {
    const first = await this.repository.delete(hashToken(token));
    let current = first;
    let currentToken = token;
    for (let hop = 0; current?.successor && hop < MAX_SUCCESSOR_HOPS; hop++) {
      const next = openSuccessor(currentToken, current.successor);
      if (!next) break;
      currentToken = next;
      current = await this.repository.delete(hashToken(next));
    }
    return first;
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

  private retention(now: Date): Date {
    return obsoleteExpiry(now, this.options.timings);
  }
}
