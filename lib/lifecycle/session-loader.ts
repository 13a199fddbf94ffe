import { Injectable } from '@nestjs/common';
import { Clock } from '../core/clock';
import { judgeObsoleteUse } from '../core/obsolete-id-policy';
import { isPreSessionLive, PreSession, readPreSession } from '../core/pre-session-token';
import { assessSession, SessionVerdict } from '../core/session-policy';
import { hashToken, hashTokenHex } from '../core/session-token';
import { andThen, MaybePromise } from '../core/maybe-promise';
import type { EventRequestInfo } from '../events/session-event';
import { describeSession, SessionEvents } from '../events/session-events';
import { CookieHeader, readSessionCookie, SessionCookieValues } from './session-cookie';
import { FailureWindow } from '../core/failure-window';
import { SessionDenialCode, SessionIdGuessingException } from '../errors/session.exceptions';
import { InjectSessionOptions } from '../options/session-options.token';
import type { ResolvedSessionOptions } from '../options/resolve-session-options';
import { SessionRepository } from '../storage/session.repository';
import { StolenIdResponse } from './stolen-id-response';
import { ServerKey } from './server-key';
import {
  findStoredSessions,
  MAX_SUCCESSOR_HOPS,
  ReachedSession,
  sessionAtHand,
  successorOf,
} from './session-chain';
import { SessionContext } from './session-context';

/**
 * How much a presented session says about the request when a Cookie header carries several
 * (duplicate cookies): evidence of an attack first, then a live session, then one being
 * replaced, then dead ones. The choice depends on the set of cookies, never on their order.
 */
function weight(verdict: SessionVerdict): number {
  if (verdict.state === 'obsolete') return verdict.withinGrace ? 1 : 3;
  return verdict.state === 'active' ? 2 : 0;
}

/**
 * Turns a request's cookie into its session context: strict mode (only stored IDs count),
 * expiry from stored time-stamps, and obsolete IDs (forwarded, answered as anonymous, or handed
 * to the {@link StolenIdResponse}, as `judgeObsoleteUse` decides).
 */
@Injectable()
export class SessionLoader {
  constructor(
    @InjectSessionOptions() private readonly options: ResolvedSessionOptions,
    private readonly repository: SessionRepository,
    private readonly clock: Clock,
    private readonly events: SessionEvents,
    private readonly stolenIdResponse: StolenIdResponse,
    private readonly serverKey: ServerKey,
  ) {
    const { threshold, window } = options.idGuessing;
    this.guesses = new FailureWindow(threshold, window);
  }

  /** Unknown or malformed IDs per client address (R19); bounded, per application instance. */
  private readonly guesses: FailureWindow;

  /**
   * The session of a request, from its Cookie header; `readClient` gives the client's address
   * and user agent, read only when an event or a write needs them. A live session at hand (the
   * cache's copy) is admitted at once, without a promise: most requests of a signed-in browser
   * end there; anything else asks the store.
   */
  load(
    cookieHeader: CookieHeader,
    readClient: () => EventRequestInfo,
  ): MaybePromise<SessionContext> {
    const cookie = readSessionCookie(cookieHeader, this.options.cookie.name);
    const context = new SessionContext(
      this.clock.now(),
      readClient,
      cookie.present,
      this.serverKey.current,
    );
    if (!context.serverKey) this.serverKey.retryInBackground();
    if (cookie.present && this.options.idGuessing.block) {
      if (this.guesses.isOver(this.clientKey(context), context.loadedAt.getTime())) {
        throw new SessionIdGuessingException();
      }
    }
    if (cookie.count > 1) {
      this.events.emit({
        type: 'session.duplicate_cookie',
        at: context.loadedAt,
        request: context.client,
        count: cookie.count,
      });
    }
    if (cookie.tokens.length !== 1) return this.loadStored(context, cookie);
    const [token] = cookie.tokens;
    const hexIdHash = hashTokenHex(token);
    const atHand = sessionAtHand(this.repository, token, hexIdHash);
    if (!atHand) return this.loadStored(context, cookie, [Buffer.from(hexIdHash, 'hex')]);
    return andThen(this.admit(context, atHand), () => context);
  }

  /** The rest of {@link load}: pre-sessions, malformed and unknown IDs, sessions from the store. */
  private async loadStored(
    context: SessionContext,
    cookie: SessionCookieValues,
    idHashes: Buffer[] = cookie.tokens.map(hashToken),
  ): Promise<SessionContext> {
    if (cookie.tokens.length === 0) {
      if (cookie.preSessions.length > 0) {
        await this.admitPreSession(context, cookie.preSessions);
      } else if (cookie.present) {
        this.refuseMalformed(context);
      }
      return context;
    }
    const found = await findStoredSessions(this.repository, cookie.tokens, idHashes);
    if (found.length === 0) {
      context.clearCookie();
      this.events.emit({
        type: 'session.unknown_id',
        at: context.loadedAt,
        request: context.client,
        idHashes: idHashes.map((idHash) => idHash.toString('hex')),
      });
      this.noteFailedId(context);
      return context;
    }
    await this.admit(context, this.weightiest(found, context.loadedAt));
    return context;
  }

  /**
   * A visitor's pre-session: one the server issued, still live. Among duplicates, the same one
   * whatever their order. A value the server did not issue counts as a malformed cookie (and
   * as a guess); an expired one is simply cleared.
   */
  private async admitPreSession(context: SessionContext, values: readonly string[]): Promise<void> {
    const key = context.serverKey ?? context.useServerKey(await this.serverKey.load());
    const issued = values
      .map((value) => readPreSession(key, value))
      .filter((preSession): preSession is PreSession => preSession !== null)
      .sort((a, b) => (a.value < b.value ? -1 : 1));
    if (issued.length === 0) return this.refuseMalformed(context);
    const [preSession] = issued;
    if (isPreSessionLive(preSession, context.loadedAt, this.options.timings.idleTimeout)) {
      context.admitPreSession(preSession);
    } else {
      context.clearCookie();
    }
  }

  /** A cookie that is no value the server issued: cleared, reported, counted as a guess. */
  private refuseMalformed(context: SessionContext): void {
    context.clearCookie();
    this.events.emit({
      type: 'session.malformed_cookie',
      at: context.loadedAt,
      request: context.client,
    });
    this.noteFailedId(context);
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

  /** The session among duplicates that decides the request (ties: by hashed ID, not by order). */
  private weightiest(found: ReachedSession[], now: Date): ReachedSession {
    if (found.length === 1) return found[0];
    const weighed = found.map((reached) => ({
      reached,
      weight: weight(assessSession(reached.record, now, this.options.timings)),
    }));
    weighed.sort(
      (a, b) =>
        b.weight - a.weight || Buffer.compare(a.reached.record.idHash, b.reached.record.idHash),
    );
    return weighed[0].reached;
  }

  /**
   * The user an obsolete session stands for: its own, or (for a pre-login session) that of
   * the first successor with one. Only the holder of the obsolete token can walk this chain.
   */
  private async userBehind(reached: ReachedSession): Promise<string | null> {
    let current: ReachedSession | null = reached;
    for (let hop = 0; current && hop <= MAX_SUCCESSOR_HOPS; hop++) {
      if (current.record.userId !== null) return current.record.userId;
      current = await successorOf(this.repository, current);
    }
    return null;
  }

  /**
   * Admits `reached` when it is active, at once (a promise only for the first use of a
   * successor's token, which is recorded); anything else is {@link admitUnusable}.
   */
  private admit(
    context: SessionContext,
    reached: ReachedSession,
    hop = 0,
  ): Promise<void> | undefined {
    const { record } = reached;
    const verdict = assessSession(record, context.loadedAt, this.options.timings);
    if (verdict.state !== 'active') return this.admitUnusable(context, reached, verdict, hop);
    // A successor's own token came back: from now on its old ID is served only in flight.
    // Recorded at once (once per regeneration), whatever the request does next: a request
    // refused by the guard, or one that regenerates the session again, still counts.
    if (hop === 0 && record.presentedAt === null) {
      return this.repository
        .markPresented(record.idHash, context.loadedAt)
        .then(() => context.admit(reached.token, record, verdict));
    }
    context.admit(reached.token, record, verdict);
    return undefined;
  }

  /** A session that cannot be used as it is: revoked, expired or obsolete. */
  private async admitUnusable(
    context: SessionContext,
    reached: ReachedSession,
    verdict: Exclude<SessionVerdict, { state: 'active' }>,
    hop: number,
  ): Promise<void> {
    const { record } = reached;
    context.clearCookie();
    if (verdict.state === 'revoked') {
      context.deny({
        code: SessionDenialCode.Revoked,
        message: 'This session was signed out; sign in again.',
      });
      return;
    }
    if (verdict.state === 'expired') {
      await this.repository.delete(record.idHash);
      context.deny(
        verdict.reason === 'idle'
          ? {
              code: SessionDenialCode.IdleExpired,
              message: 'The session expired after inactivity.',
            }
          : {
              code: SessionDenialCode.AbsoluteExpired,
              message: 'The session reached its maximum lifetime.',
            },
      );
      this.events.emit({
        type: 'session.expired',
        at: context.loadedAt,
        request: context.client,
        reason: verdict.reason,
        session: describeSession(record),
      });
      return;
    }
    await this.admitObsolete(context, reached, hop);
  }

  /** An obsolete ID: forwarded, answered as anonymous, or the attack response. */
  private async admitObsolete(
    context: SessionContext,
    reached: ReachedSession,
    hop: number,
  ): Promise<void> {
    const { record } = reached;
    const obsolete = { obsoletedAt: record.obsoletedAt!, obsoletedBy: record.obsoletedBy };
    const { timings } = this.options;
    let use = judgeObsoleteUse(obsolete, null, context.loadedAt, timings);
    let successor: ReachedSession | null = null;
    if (use === 'forward') {
      successor = hop < MAX_SUCCESSOR_HOPS ? await successorOf(this.repository, reached) : null;
      if (!successor) {
        context.deny({
          code: SessionDenialCode.Ended,
          message: 'The session this ID was replaced by has ended.',
        });
        return;
      }
      use = judgeObsoleteUse(obsolete, successor.record.presentedAt, context.loadedAt, timings);
    }
    if (use === 'attack') {
      await this.stolenIdResponse.respond(context, record, await this.userBehind(reached));
      return;
    }
    if (use === 'anonymous') {
      const signedIn = await successorOf(this.repository, reached);
      this.events.emit({
        type: 'session.obsolete_refused',
        at: context.loadedAt,
        request: context.client,
        userId: signedIn?.record.userId ?? null,
        obsolete: describeSession(record),
        regeneration: record.obsoletedBy === 'restore' ? 'restore' : 'login',
      });
      return;
    }
    await this.admit(context, successor!, hop + 1);
    if (!context.record) return;
    context.setCookie();
    this.events.emit({
      type: 'session.obsolete_forwarded',
      at: context.loadedAt,
      request: context.client,
      obsolete: describeSession(record),
      successor: describeSession(context.record),
      regeneration: record.obsoletedBy === 'privilege' ? 'privilege' : 'rotation',
    });
  }
}
