import { Injectable } from '@nestjs/common';
import { Clock } from '../core/clock';
import { describeDevice } from '../core/device-summary';
import { SessionUsageError } from '../core/errors';
import { countActive } from '../core/session-record';
import { withinGracePeriod } from '../core/session-policy';
import { isWellFormedHandle } from '../core/session-token';
import { openSuccessor, sealSuccessor } from '../core/successor-seal';
import { describeSession, SessionEvents } from '../events/session-events';
import { CookieHeader, readCookie } from '../lifecycle/session-cookie';
import { SessionDenialCode } from '../errors/session.exceptions';
import { InjectSessionOptions } from '../options/session-options.token';
import type { ResolvedSessionOptions } from '../options/resolve-session-options';
import { SessionContext } from '../lifecycle/session-context';
import { contextOf, Session } from '../lifecycle/session';
import { SessionRevoker } from '../lifecycle/session-revoker';
import { SessionWriter } from '../lifecycle/session-writer';
import { SessionRepository } from '../storage/session.repository';
import { RememberMeRecord, RememberMeRepository } from '../storage/remember-me.repository';
import {
  formatRememberMeCookie,
  generateSelector,
  generateValidator,
  hashValidator,
  parseRememberMeCookie,
  RememberMeCredentials,
  validatorMatches,
} from '../core/remember-me-token';

/** A remembered device as a device list shows it: never a selector, validator or hash. */
export interface RememberedDevice {
  /** The device's public handle (the same as the handle of its sessions). */
  handle: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  ip: string | null;
  userAgent: string | null;
  device: string;
}

/** Whether a cookie value is a well-formed remember-me cookie. */
function isRememberMeCookie(value: string): boolean {
  return parseRememberMeCookie(value) !== null;
}

/**
 * Persistent login ("remember me"): a cookie `selector.validator` whose table row keeps the
 * selector and SHA-256 of the validator. A request without an authenticated session but with
 * a valid cookie gets a new session (marked as not fresh: `authenticatedAt` is `null`) and a new
 * validator (one-time use). A used or wrong validator for a known selector is treated as
 * theft: the device's token and every session of the user are revoked and an event is emitted.
 * The validator replaced last stays valid for `obsoleteGracePeriod`, so parallel requests
 * with the same cookie raise no false alarm.
 *
 * @example
 * await this.sessions.authenticate(session, user.id);
 * if (body.rememberMe) await this.rememberMe.issue(session);
 */
@Injectable()
export class RememberMeService {
  constructor(
    @InjectSessionOptions() private readonly options: ResolvedSessionOptions,
    private readonly tokens: RememberMeRepository,
    private readonly sessions: SessionRepository,
    private readonly revoker: SessionRevoker,
    private readonly writer: SessionWriter,
    private readonly events: SessionEvents,
    private readonly clock: Clock,
  ) {}

  /**
   * Remembers this device for the session's user: stores a token and sets the remember-me
   * cookie. Call it after `SessionService.authenticate`. Replaces the token the request
   * carried when the request holds it (its current validator) or it is the same user's; a
   * cookie with someone else's selector deletes nothing.
   */
  async issue(session: Session<object>): Promise<void> {
    const context = contextOf(session);
    context.requireCookieChannel('RememberMeService.issue');
    const record = context.record;
    if (!record?.userId) {
      throw new SessionUsageError(
        'RememberMeService.issue needs an authenticated session: call SessionService.authenticate first.',
      );
    }
    if (context.rememberMe) await this.revoker.forgetHeldDevice(context.rememberMe, record.userId);
    const now = this.clock.now();
    const credentials = { selector: generateSelector(), validator: generateValidator() };
    await this.tokens.insert({
      selector: credentials.selector,
      handle: record.handle,
      userId: record.userId,
      validatorHash: hashValidator(credentials.validator),
      createdAt: now,
      lastUsedAt: now,
      expiresAt: this.expiry(now),
      ip: context.client.ip,
      userAgent: context.client.userAgent,
    });
    // A revocation of the user ("sign out everywhere") may have ended the session since the
    // sign-in: it deletes the user's tokens before and after revoking, so a token stored before
    // this check goes with its second pass, and one the check finds revoked goes here.
    const [stored] = await this.sessions.findByHashes([record.idHash]);
    if (!stored || stored.revokedAt !== null) {
      await this.tokens.delete(credentials.selector);
      context.end();
      return;
    }
    context.holdRememberMe(credentials, formatRememberMeCookie(credentials));
  }

  /** The user's remembered devices, most recently used first. */
  async listDevices(userId: string | number): Promise<RememberedDevice[]> {
    const records = await this.tokens.findActiveOfUser(String(userId), this.clock.now());
    return records.map((record) => ({
      handle: record.handle,
      createdAt: record.createdAt,
      lastUsedAt: record.lastUsedAt,
      expiresAt: record.expiresAt,
      ip: record.ip,
      userAgent: record.userAgent,
      device: describeDevice(record.userAgent),
    }));
  }

  /**
   * Forgets one remembered device of the user; `false` when the user has no such device, and
   * at once, without a query, for a value that is not a handle's shape.
   */
  async revokeDevice(userId: string | number, handle: string): Promise<boolean> {
    if (!isWellFormedHandle(handle)) return false;
    return (await this.tokens.deleteOfUser(String(userId), { handles: [handle] })) > 0;
  }

  /**
   * Called by the guard for a request that has no authenticated session: when it carries a
   * remember-me cookie, starts a session from it, or answers a theft. `null` (at once) when
   * there is nothing to restore, as for every request with a signed-in session.
   */
  restore(cookieHeader: CookieHeader, context: SessionContext): Promise<void> | null {
    const credentials = this.read(cookieHeader, context);
    if (!credentials || context.record?.userId || !this.mayRestore(context)) return null;
    return this.restoreFrom(credentials, context);
  }

  private async restoreFrom(
    credentials: RememberMeCredentials,
    context: SessionContext,
  ): Promise<void> {
    const record = await this.tokens.find(credentials.selector);
    if (!record || record.expiresAt <= context.loadedAt) {
      if (record) await this.tokens.delete(record.selector);
      context.forgetRememberMe();
      return;
    }
    const current = await this.currentValidator(credentials, record, context);
    if (current === 'forgotten') {
      context.forgetRememberMe();
      return;
    }
    if (current === null) {
      await this.respondToTheft(context, record);
      return;
    }
    const held = { selector: record.selector, validator: current.validator };
    context.holdRememberMe(held, formatRememberMeCookie(held));
    // A parallel request of the same browser (the previous validator) is no news.
    if (current.rotatedHere) await this.reportLiveSessionsOf(record, context);
    // Every restore is its own entry in the device list, linked to the remembered device.
    await this.writer.regenerate(context, {
      purpose: 'restore',
      userId: record.userId,
      rememberMeHandle: record.handle,
    });
    await this.undoIfForgotten(record, context);
  }

  /**
   * A revocation that forgot the device while this restore ran (after the token was checked)
   * may have missed the new session: its passes ran before it existed. The device is gone, so
   * the session is ended here and the request goes on anonymous. A revocation that comes later
   * sees the session, so either way nothing survives it.
   */
  private async undoIfForgotten(record: RememberMeRecord, context: SessionContext): Promise<void> {
    if (await this.tokens.find(record.selector)) {
      context.liftDenial();
      return;
    }
    await this.revoker.endCurrent(context);
    context.continueAnonymous();
    context.forgetRememberMe();
  }

  /**
   * A restore while a session of the same remembered device is live: the browser came back
   * (its session cookie was gone), or a copy of the remember-me cookie is used elsewhere.
   */
  private async reportLiveSessionsOf(
    record: RememberMeRecord,
    context: SessionContext,
  ): Promise<void> {
    const live = (await this.sessions.findActiveOfUser(record.userId, context.loadedAt)).filter(
      (session) => session.handle === record.handle || session.rememberMeHandle === record.handle,
    );
    if (live.length === 0) return;
    this.events.emit({
      type: 'remember_me.restored_while_live',
      at: context.loadedAt,
      request: context.client,
      userId: record.userId,
      handle: record.handle,
      sessions: live.map(describeSession),
    });
  }

  /**
   * The remember-me cookie of the request, if well-formed (its selector is kept so that a
   * logout can forget the device); a malformed one is cleared.
   */
  private read(cookieHeader: CookieHeader, context: SessionContext): RememberMeCredentials | null {
    const name = this.options.rememberMe.cookie.name;
    const read = readCookie(cookieHeader, name, isRememberMeCookie, 1);
    if (read.tokens.length === 0) {
      if (read.present) context.clearRememberMeCookie();
      return null;
    }
    const credentials = parseRememberMeCookie(read.tokens[0]);
    if (credentials) context.carryRememberMe(credentials);
    return credentials;
  }

  /**
   * Remember-me never overrides a verdict about an attack: an obsolete ID used after its grace
   * period or a revoked session. An expired session, or none, may be restored.
   */
  private mayRestore(context: SessionContext): boolean {
    const code = context.denial?.code;
    return code !== SessionDenialCode.Obsolete && code !== SessionDenialCode.Revoked;
  }

  /**
   * The validator the device holds from now on: a fresh one when the presented validator is
   * the current one (rotated here), the current one when the presented validator was replaced
   * less than a grace period ago (a parallel request), `null` for a used or wrong one, or
   * `'forgotten'` when the token went after it was read (a revocation, a logout): as if the
   * cookie had come after, a token that no longer exists, not a theft.
   */
  private async currentValidator(
    presented: RememberMeCredentials,
    record: RememberMeRecord,
    context: SessionContext,
  ): Promise<{ validator: string; rotatedHere: boolean } | 'forgotten' | null> {
    if (validatorMatches(presented.validator, record.validatorHash)) {
      const next = generateValidator();
      const rotated = await this.tokens.rotate({
        selector: record.selector,
        expectedHash: record.validatorHash,
        validatorHash: hashValidator(next),
        previousSuccessor: sealSuccessor(presented.validator, next),
        at: context.loadedAt,
        expiresAt: this.expiry(context.loadedAt),
        ip: context.client.ip,
        userAgent: context.client.userAgent,
      });
      if (rotated) return { validator: next, rotatedHere: true };
      const latest = await this.tokens.find(record.selector);
      return latest ? this.previousValidatorSuccessor(presented, latest, context) : 'forgotten';
    }
    return this.previousValidatorSuccessor(presented, record, context);
  }

  private previousValidatorSuccessor(
    presented: RememberMeCredentials,
    record: RememberMeRecord,
    context: SessionContext,
  ): { validator: string; rotatedHere: boolean } | null {
    const withinGrace =
      record.rotatedAt !== null &&
      withinGracePeriod(record.rotatedAt, context.loadedAt, this.options.timings);
    if (!withinGrace || !record.previousSuccessor) return null;
    if (!validatorMatches(presented.validator, record.previousValidatorHash)) return null;
    const validator = openSuccessor(presented.validator, record.previousSuccessor);
    return validator ? { validator, rotatedHere: false } : null;
  }

  /** A stolen remember-me cookie: end every remember-me token and every session of the user. */
  private async respondToTheft(context: SessionContext, record: RememberMeRecord): Promise<void> {
    const { sessions: revoked } = await this.revoker.revoke(record.userId, {}, 'all', context);
    context.reset();
    context.forgetRememberMe();
    context.deny({
      code: SessionDenialCode.RememberMeTheft,
      message:
        'This sign-in link was already used elsewhere; for your safety you were signed out everywhere.',
    });
    this.events.emit({
      type: 'remember_me.theft',
      at: context.loadedAt,
      request: context.client,
      userId: record.userId,
      handle: record.handle,
      rotatedAt: record.rotatedAt,
      lastUsedAt: record.lastUsedAt,
      lastUse: { ip: record.ip, userAgent: record.userAgent },
      revokedSessions: countActive(revoked),
    });
  }

  private expiry(from: Date): Date {
    return new Date(from.getTime() + this.options.rememberMe.lifetime);
  }
}
