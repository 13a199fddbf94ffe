import { Injectable } from '@nestjs/common';
import { Clock } from '../core/clock';
import { SessionRecord } from '../core/session-record';
import { assessSession } from '../core/session-policy';
import { hashToken } from '../core/session-token';
import { openSuccessor } from '../core/successor-seal';
import { describeSession, SessionEvents } from '../events/session-events';
import { readSessionCookie } from '../http/session-cookie';
import { FailureWindow } from '../core/failure-window';
import { SessionDenialCode, SessionIdGuessingException } from '../http/session.exceptions';
import { clientInfo, SessionRequest } from '../http/session-request';
import { InjectSessionOptions } from '../options/session-options.provider';
import type { ResolvedSessionOptions } from '../options/resolve-session-options';
import { SessionRepository } from '../storage/session.repository';
import { ObsoleteAccessResponder } from './obsolete-access.responder';
import { SessionContext } from './session-context';

/** A stored session and the token that reaches it. */
export interface ReachedSession {
  token: string;
  record: SessionRecord;
}

/**
 * Successors are followed at most this deep: each hop is a regeneration inside the previous
 * one's grace period, which busy tabs racing rotations can chain a few times.
 */
const MAX_SUCCESSOR_HOPS = 10;

/**
 * Turns a request's cookie into its session context: strict mode (only stored IDs count),
 * expiry from stored time-stamps, and obsolete IDs (served as their successor within the
 * grace period, handed to the {@link ObsoleteAccessResponder} after it).
 */
@Injectable()
export class SessionLoader {
  constructor(
    @InjectSessionOptions() private readonly options: ResolvedSessionOptions,
    private readonly repository: SessionRepository,
    private readonly clock: Clock,
    private readonly events: SessionEvents,
    private readonly obsoleteAccess: ObsoleteAccessResponder,
  ) {
    const { threshold, window } = options.idGuessing;
    this.guesses = new FailureWindow(threshold, window);
  }

  /** Unknown or malformed IDs per client address (R19); bounded, per application instance. */
  private readonly guesses: FailureWindow;

  async load(request: SessionRequest): Promise<SessionContext> {
    const cookie = readSessionCookie(request.headers.cookie, this.options.cookie.name);
    const context = new SessionContext(this.clock.now(), () => clientInfo(request), cookie.present);
    if (cookie.present && this.options.idGuessing.block) {
      if (this.guesses.isOver(this.clientKey(context), context.loadedAt.getTime())) {
        throw new SessionIdGuessingException();
      }
    }
    if (cookie.tokens.length === 0) {
      if (cookie.present) {
        context.cookie = 'clear';
        this.events.emit({
          type: 'session.malformed_cookie',
          at: context.loadedAt,
          request: context.client,
        });
        this.noteFailedId(context);
      }
      return context;
    }
    const reached = await this.findFirst(cookie.tokens);
    if (!reached) {
      context.cookie = 'clear';
      this.events.emit({
        type: 'session.unknown_id',
        at: context.loadedAt,
        request: context.client,
        idHashes: cookie.tokens.map((token) => hashToken(token).toString('hex')),
      });
      this.noteFailedId(context);
      return context;
    }
    await this.admit(context, reached);
    return context;
  }

  private clientKey(context: SessionContext): string {
    return context.client.ip ?? 'unknown';
  }

  /** Counts a presented ID that was unknown or malformed; reports an address that keeps guessing. */
  private noteFailedId(context: SessionContext): void {
    const failure = this.guesses.record(this.clientKey(context), context.loadedAt.getTime());
    if (!failure.reachedNow) return;
    this.events.emit({
      type: 'session.id_guessing',
      at: context.loadedAt,
      request: context.client,
      count: failure.count,
      windowMs: this.options.idGuessing.window,
      blocked: this.options.idGuessing.block,
    });
  }

  /**
   * The active session that `token` stands for now: itself, or the successor of an obsolete
   * session within its grace period; `null` when there is none.
   */
  async resolveActive(token: string, now: Date): Promise<ReachedSession | null> {
    let reached = await this.findFirst([token]);
    for (let hop = 0; reached && hop <= MAX_SUCCESSOR_HOPS; hop++) {
      const verdict = assessSession(reached.record, now, this.options.timings);
      if (verdict.state === 'active') return reached;
      if (verdict.state !== 'obsolete' || !verdict.withinGrace) return null;
      reached = await this.successorOf(reached);
    }
    return null;
  }

  private async findFirst(tokens: string[]): Promise<ReachedSession | null> {
    const hashes = tokens.map(hashToken);
    const records = await this.repository.findByHashes(hashes);
    for (const [index, token] of tokens.entries()) {
      const record = records.find((candidate) => candidate.idHash.equals(hashes[index]));
      if (record) return { token, record };
    }
    return null;
  }

  private async successorOf(reached: ReachedSession): Promise<ReachedSession | null> {
    if (!reached.record.successor) return null;
    const token = openSuccessor(reached.token, reached.record.successor);
    return token ? this.findFirst([token]) : null;
  }

  /**
   * The user an obsolete session stands for: its own, or (for a pre-login session) that of
   * the first successor with one. Only the holder of the obsolete token can walk this chain.
   */
  private async userBehind(reached: ReachedSession): Promise<string | null> {
    let current: ReachedSession | null = reached;
    for (let hop = 0; current && hop <= MAX_SUCCESSOR_HOPS; hop++) {
      if (current.record.userId !== null) return current.record.userId;
      current = await this.successorOf(current);
    }
    return null;
  }

  private async admit(context: SessionContext, reached: ReachedSession, hop = 0): Promise<void> {
    const { record } = reached;
    const verdict = assessSession(record, context.loadedAt, this.options.timings);
    if (verdict.state === 'active') {
      context.adopt(reached.token, record);
      context.touchDue = verdict.touchDue;
      context.rotationDue = verdict.rotationDue;
      return;
    }
    context.cookie = 'clear';
    if (verdict.state === 'revoked') {
      context.denial = {
        code: SessionDenialCode.Revoked,
        message: 'This session was signed out; sign in again.',
      };
      return;
    }
    if (verdict.state === 'expired') {
      await this.repository.delete(record.idHash);
      context.denial =
        verdict.reason === 'idle'
          ? {
              code: SessionDenialCode.IdleExpired,
              message: 'The session expired after inactivity.',
            }
          : {
              code: SessionDenialCode.AbsoluteExpired,
              message: 'The session reached its maximum lifetime.',
            };
      this.events.emit({
        type: 'session.expired',
        at: context.loadedAt,
        request: context.client,
        reason: verdict.reason,
        session: describeSession(record),
      });
      return;
    }
    if (verdict.withinGrace) {
      const successor = hop < MAX_SUCCESSOR_HOPS ? await this.successorOf(reached) : null;
      if (successor) {
        await this.admit(context, successor, hop + 1);
        if (context.record) context.cookie = 'set';
        return;
      }
      context.denial = {
        code: SessionDenialCode.Ended,
        message: 'The session this ID was replaced by has ended.',
      };
      return;
    }
    await this.obsoleteAccess.respond(context, record, await this.userBehind(reached));
  }
}
