import { Injectable } from '@nestjs/common';
import { Clock } from '../core/clock';
import { generateCsrfSecret } from '../core/csrf-token';
import {
  limitReached,
  planSuccessor,
  RegenerationPlan,
  regenerationReport,
  SessionLimitStep,
  sessionLimitStep,
  startsLogin,
  winnerFulfils,
} from '../core/regeneration-policy';
import { afterUpdate, SessionRecord } from '../core/session-record';
import { activeExpiry, obsoleteExpiry } from '../core/session-policy';
import { generateHandle, generateToken, hashToken } from '../core/session-token';
import { sealSuccessor } from '../core/successor-seal';
import { describeSession, SessionEvents } from '../events/session-events';
import {
  SessionBusyException,
  SessionConflictException,
  SessionDataTooLargeException,
  SessionDenialCode,
  SessionForbiddenException,
  SessionUnauthorizedException,
} from '../errors/session.exceptions';
import { InjectSessionOptions } from '../options/session-options.token';
import type { ResolvedSessionOptions } from '../options/resolve-session-options';
import { DataChange, SessionRepository } from '../storage/session.repository';
import { TouchBatcher } from './touch-batcher';
import { continuationOf, ReachedSession } from './session-chain';
import { SessionContext } from './session-context';
import { assertStorable } from './session';
import { SessionRevoker } from './session-revoker';

const EMPTY_DATA: DataChange = { replace: true, set: {}, remove: [] };
/** The old row's data as it is, for a successor. */
const NO_CHANGE: DataChange = { replace: false, set: {}, remove: [] };

/** Who a newly created session belongs to. */
interface SessionIdentity {
  userId: string | null;
  /** The remembered device a restored session comes from. */
  rememberMeHandle?: string;
  /** Whether the user just proved their identity (sets `authenticated_at`). */
  interactive: boolean;
}

const ANONYMOUS: SessionIdentity = { userId: null, interactive: false };

/**
 * How many times a regeneration that lost a race is retried on the winner's successor (busy
 * tabs racing rotations can chain several).
 */
const MAX_REGENERATION_ATTEMPTS = 10;

/**
 * How many times a write whose keys changed under it (functional updates of a busy key, such
 * as a cart many tabs add to at once) is computed again before the client is asked to retry.
 */
const MAX_WRITE_ATTEMPTS = 25;

/**
 * Persists a request's session: creates it lazily, writes changed keys as a merge, touches
 * `last_seen_at` when due, and regenerates IDs (login, privilege change, rotation) with a
 * single winner under concurrency.
 */
@Injectable()
export class SessionWriter {
  constructor(
    @InjectSessionOptions() private readonly options: ResolvedSessionOptions,
    private readonly repository: SessionRepository,
    private readonly revoker: SessionRevoker,
    private readonly clock: Clock,
    private readonly events: SessionEvents,
    private readonly touches: TouchBatcher,
  ) {}

  /**
   * Whether the request left anything to write: data, a new CSRF secret, a due touch or
   * rotation. Most reads leave nothing, and then no statement is sent.
   */
  needsWrite(context: SessionContext): boolean {
    if (context.ended) return false;
    const newSecret = context.pendingCsrfSecret !== null;
    if (!context.record) return context.data.size > 0 || newSecret;
    return context.hasChanges || context.touchDue || context.rotationDue || newSecret;
  }

  /** Writes what the request changed, after the handler. */
  async persist(context: SessionContext): Promise<void> {
    if (!this.needsWrite(context)) return;
    if (!context.record) {
      context.requireCookieChannel('Starting a session');
      await this.create(this.repository, context, ANONYMOUS);
      return;
    }
    // Over a WebSocket the ID stays: the browser's cookie must keep reaching the session. The
    // next HTTP request that is due rotates it.
    const rotates = context.rotationDue || (this.options.regenerateOnWrite && context.hasChanges);
    if (rotates && !context.overSocket) {
      await this.regenerate(context, {
        purpose: 'rotation',
        reason: context.rotationDue ? 'interval' : 'write',
      });
      if (context.ended || !context.hasChanges) return;
    }
    await this.update(context);
  }

  /**
   * Gives the session a new ID: the old row becomes obsolete (its successor sealed for the old
   * token's holder, the purpose recorded), the data is carried over. A regeneration that loses
   * a race to a same-user one continues from the winner's successor, so one session never ends
   * with two live successors. A sign-in under `maxSessionsPerUser` runs serialised per user, so
   * the limit holds under concurrent logins.
   */
  async regenerate(context: SessionContext, plan: RegenerationPlan): Promise<void> {
    context.requireCookieChannel('A new session ID (sign-in, regeneration)');
    const limit = sessionLimitStep(plan, context.record?.userId, {
      max: this.options.maxSessionsPerUser,
      policy: this.options.sessionLimitPolicy,
    });
    if (!limit) {
      // A re-authentication of the same user replaces its session, so the limit was not
      // consulted; if the session was ended meanwhile (evicted by another login, revoked), the
      // sign-in adds a login after all and starts again, now under the limit.
      const outcome = await this.regenerateOn(this.repository, context, plan, true);
      return outcome === 'lost-sign-in' ? this.regenerate(context, plan) : undefined;
    }
    const { userId } = limit;
    const evicted = await this.repository.serializeUser(userId, async (repository) => {
      const evicted = await this.makeRoom(repository, limit, context.record?.handle);
      await this.regenerateOn(repository, context, plan);
      return evicted;
    });
    // After the transaction: it holds a connection, and this needs another.
    if (evicted.length > 0) {
      await this.revoker.forgetEvicted(userId, evicted, context.client, plan.rememberMeHandle);
    }
  }

  /**
   * Regenerates on `repository`, retrying against concurrent regenerations. A sign-in whose
   * session is ended meanwhile starts from no session: here, or, with `returnLostSignIn`, by
   * returning `'lost-sign-in'` (its context reset) for the caller to start it again.
   */
  private async regenerateOn(
    repository: SessionRepository,
    context: SessionContext,
    plan: RegenerationPlan,
    returnLostSignIn = false,
  ): Promise<'lost-sign-in' | void> {
    const login = startsLogin(plan);
    for (let attempt = 0; attempt < MAX_REGENERATION_ATTEMPTS; attempt++) {
      const old = context.record;
      const oldToken = context.token;
      if (!old || !oldToken) {
        await this.create(repository, context, login ? this.identity(plan) : ANONYMOUS);
        return;
      }
      const successor = await this.tryRegenerate(repository, context, old, oldToken, plan);
      if (successor) return;
      const winner = await continuationOf(
        repository,
        oldToken,
        this.clock.now(),
        this.options.timings,
      );
      if (winner === null || winner === 'signed-in') {
        // A sign-in starts afresh; anything else has lost its session.
        if (!login) return winner ? this.yieldToSignIn(context) : this.lose(context);
        context.reset();
        if (returnLostSignIn) return 'lost-sign-in';
        continue;
      }
      // Functional updates apply again to the winner's data, which may hold another write.
      this.rebase(context, winner);
      context.setCookie();
      if (winnerFulfils(plan, winner.record, context.loadedAt)) return;
    }
    throw new SessionBusyException();
  }

  /**
   * Carries out the session limit of a login (see `sessionLimitStep`): refuses it, or evicts the
   * least recently used sessions; returns those it evicted. `currentHandle` is the login the
   * request already holds, which the new one replaces and so does not count. Runs on the
   * repository of the user's serialised transaction.
   */
  private async makeRoom(
    repository: SessionRepository,
    limit: NonNullable<SessionLimitStep>,
    currentHandle?: string,
  ): Promise<SessionRecord[]> {
    if (limit.action === 'evict') {
      return this.revoker.evictLeastRecentlyUsed(repository, limit.userId, limit.keep);
    }
    const active = await repository.findActiveOfUser(limit.userId, this.clock.now());
    if (limitReached(active, limit.max, currentHandle)) {
      throw new SessionForbiddenException(
        SessionDenialCode.LimitReached,
        `This account already has ${limit.max} active sessions; sign out of one to sign in here.`,
      );
    }
    return [];
  }

  private async tryRegenerate(
    repository: SessionRepository,
    context: SessionContext,
    old: SessionRecord,
    oldToken: string,
    plan: RegenerationPlan,
  ): Promise<SessionRecord | null> {
    const now = this.clock.now();
    const token = generateToken();
    const next = planSuccessor(plan, old, now);
    const { authenticatedAt } = next;
    // Changes computed from stored values (functional updates, keys read then set) are not
    // carried by the regeneration, which writes them unguarded: the successor starts from the
    // data as stored, and they are written after it, guarded, applied to that data.
    const carried = next.keepsData && context.dataGuard() === null;
    const successor = await repository.regenerate({
      purpose: plan.purpose,
      oldHash: old.idHash,
      obsoletedAt: now,
      obsoleteExpiresAt: obsoleteExpiry(now, this.options.timings),
      successorSeal: sealSuccessor(oldToken, token),
      successor: {
        idHash: hashToken(token),
        handle: next.newDeviceEntry ? generateHandle() : old.handle,
        userId: next.userId,
        data: carried ? context.pendingChange() : next.keepsData ? NO_CHANGE : EMPTY_DATA,
        authenticatedAt,
        lastSeenAt: now,
        rotatedAt: now,
        expiresAt: activeExpiry(
          { createdAt: old.createdAt, authenticatedAt },
          now,
          this.options.timings,
        ),
        ip: context.client.ip,
        userAgent: context.client.userAgent,
        // null: the successor keeps the old row's secret.
        csrfSecret: next.newCsrfSecret ? generateCsrfSecret() : null,
        rememberMeHandle: next.rememberMeHandle,
      },
    });
    if (!successor) return null;
    const pendingAfter = next.keepsData && !carried;
    context.adoptSuccessor(token, successor, pendingAfter);
    if (pendingAfter) context.reapplyUpdates(assertStorable);
    this.emitRegeneration(context, plan, old, successor, now);
    return successor;
  }

  private emitRegeneration(
    context: SessionContext,
    plan: RegenerationPlan,
    old: SessionRecord,
    successor: SessionRecord,
    at: Date,
  ): void {
    const base = {
      at,
      request: context.client,
      session: describeSession(successor),
      previous: describeSession(old),
    };
    const report = regenerationReport(plan);
    if (report.type === 'session.authenticated') {
      this.events.emit({
        type: report.type,
        userId: successor.userId ?? '',
        remembered: report.remembered,
        ...base,
      });
    } else {
      this.events.emit({ ...report, ...base });
    }
  }

  private identity(plan: RegenerationPlan): SessionIdentity {
    return {
      userId: plan.userId ?? null,
      rememberMeHandle: plan.rememberMeHandle,
      interactive: plan.purpose === 'login',
    };
  }

  private async create(
    repository: SessionRepository,
    context: SessionContext,
    identity: SessionIdentity,
  ): Promise<void> {
    const now = this.clock.now();
    const token = generateToken();
    const { userId } = identity;
    const authenticatedAt = identity.interactive ? now : null;
    const record = await repository.insert({
      idHash: hashToken(token),
      handle: generateHandle(),
      userId,
      data: context.snapshot(),
      createdAt: now,
      authenticatedAt,
      lastSeenAt: now,
      rotatedAt: now,
      expiresAt: activeExpiry({ createdAt: now, authenticatedAt }, now, this.options.timings),
      ip: context.client.ip,
      userAgent: context.client.userAgent,
      csrfSecret: this.newCsrfSecret(context, userId),
      // The client gets this token now: nothing older stands for this session.
      presentedAt: now,
      rememberMeHandle: identity.rememberMeHandle ?? null,
    });
    context.adopt(token, record);
    context.setCookie();
    const event = { at: now, request: context.client, session: describeSession(record) };
    if (userId === null) this.events.emit({ type: 'session.created', ...event });
    else {
      this.events.emit({
        type: 'session.authenticated',
        userId,
        previous: null,
        remembered: !identity.interactive,
        ...event,
      });
    }
  }

  /**
   * The CSRF secret of a new session. An anonymous one keeps the secret the visitor's page
   * already holds tokens of (its pre-session's, or one made in this request); a session that
   * starts signed in gets a new one, so no token from before the sign-in works in it.
   */
  private newCsrfSecret(context: SessionContext, userId: string | null): Buffer {
    if (userId !== null) return generateCsrfSecret();
    return context.pendingCsrfSecret ?? context.preSession?.csrfSecret ?? generateCsrfSecret();
  }

  private async update(context: SessionContext): Promise<void> {
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const record = context.record;
      const token = context.token;
      if (!record || !token) return;
      const now = this.clock.now();
      const touch = context.touchDue
        ? { lastSeenAt: now, expiresAt: activeExpiry(record, now, this.options.timings) }
        : undefined;
      // A touch alone goes with the other sessions' touches (one statement for all of them).
      const version =
        touch && !context.hasChanges && !context.pendingCsrfSecret
          ? await this.touches.touch({ idHash: record.idHash, ...touch })
          : await this.repository.update(record.idHash, {
              data: context.hasChanges ? context.pendingChange() : undefined,
              csrfSecret: context.pendingCsrfSecret ?? undefined,
              touch,
              guard: context.hasChanges ? (context.dataGuard() ?? undefined) : undefined,
            });
      if (version !== null) {
        context.markPersisted(
          afterUpdate(record, {
            data: context.snapshot(),
            version,
            csrfSecret: record.csrfSecret ?? context.pendingCsrfSecret,
            touch,
          }),
        );
        return;
      }
      // Another request changed a key this write depends on, or regenerated the session.
      const next = await continuationOf(this.repository, token, now, this.options.timings);
      if (next === 'signed-in') return this.yieldToSignIn(context);
      if (!next) return this.lose(context);
      this.rebase(context, next);
      if (next.token !== token) context.setCookie();
      if (!context.hasChanges) return;
    }
    // The session is alive but kept moving: keep the cookie, ask the client to retry.
    throw new SessionBusyException();
  }

  /**
   * Puts the request's changes on top of `next`, the session as it is now: a key read and then
   * set that changed meanwhile refuses the whole write (409 `session_conflict`, nothing saved);
   * functional updates are computed again from the values stored now.
   */
  private rebase(context: SessionContext, next: ReachedSession): void {
    const conflicts = context.conflictsWith(next.record);
    if (conflicts.length > 0) throw new SessionConflictException(conflicts);
    context.adopt(next.token, next.record, true);
    context.reapplyUpdates(assertStorable);
    const size = Buffer.byteLength(JSON.stringify(context.snapshot()));
    if (size > this.options.maxDataSize) {
      throw new SessionDataTooLargeException(size, this.options.maxDataSize);
    }
  }

  /**
   * The request's session became a sign-in while the request ran: it must reach nothing of the
   * new session, and its response must not clear the cookie the sign-in just set (it may be
   * the same browser). Changes are refused with 409 `session_busy`, so nothing is lost
   * silently; a retry carries the browser's new cookie.
   */
  private yieldToSignIn(context: SessionContext): void {
    const lostChanges = context.hasChanges;
    context.yieldToSignIn();
    if (lostChanges) throw new SessionBusyException();
  }

  /** The session ended under a running request: nothing is written, the cookie is cleared. */
  private lose(context: SessionContext): void {
    const lostChanges = context.hasChanges;
    context.end();
    if (lostChanges) {
      throw new SessionUnauthorizedException(
        SessionDenialCode.Ended,
        'The session ended while this request was running; its changes were not saved.',
      );
    }
  }
}
