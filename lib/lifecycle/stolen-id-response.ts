import { Injectable } from '@nestjs/common';
import { countActive, SessionRecord } from '../core/session-record';
import { describeSession, SessionEvents } from '../events/session-events';
import { SessionDenialCode } from '../errors/session.exceptions';
import { InjectSessionOptions } from '../options/session-options.token';
import type { ResolvedSessionOptions } from '../options/resolve-session-options';
import { SessionRepository } from '../storage/session.repository';
import { SessionContext } from './session-context';
import { SessionRevoker } from './session-revoker';

/**
 * What happens when an ID replaced by regeneration is used after its grace period. A
 * legitimate client has had the new cookie for that long, so this is most likely a stolen or
 * fixated ID: refuse it, clear the cookie, end every session and remember-me token of the user
 * (unless configured to deny only) so the thief loses whatever the ID led to, and report it
 * with the evidence.
 */
@Injectable()
export class StolenIdResponse {
  constructor(
    @InjectSessionOptions() private readonly options: ResolvedSessionOptions,
    private readonly repository: SessionRepository,
    private readonly revoker: SessionRevoker,
    private readonly events: SessionEvents,
  ) {}

  /**
   * @param userId the user the obsolete session belongs to: its own, or for a pre-login
   * session the user of its successor.
   */
  async respond(
    context: SessionContext,
    obsolete: SessionRecord,
    userId: string | null,
  ): Promise<void> {
    const response = this.options.onObsoleteAccess;
    let userSessions: SessionRecord[] = [];
    let revoked = 0;
    if (userId !== null) {
      if (response === 'revoke-all') {
        ({ sessions: userSessions } = await this.revoker.revoke(userId, {}, 'all', context));
        // A planted pre-login ID belongs to no user, so the revocation leaves it: without this
        // its every replay would sign the user out again, for the whole retention.
        if (obsolete.userId === null) await this.repository.delete(obsolete.idHash);
        revoked = countActive(userSessions);
      } else {
        userSessions = await this.repository.findActiveOfUser(userId, context.loadedAt);
      }
    }
    context.deny({
      code: SessionDenialCode.Obsolete,
      message: 'This session ID was replaced and can no longer be used; sign in again.',
    });
    this.events.emit({
      type: 'session.obsolete_access',
      at: context.loadedAt,
      request: context.client,
      userId,
      obsolete: describeSession(obsolete),
      userSessions: userSessions.map(describeSession),
      response,
      revoked,
    });
  }
}
