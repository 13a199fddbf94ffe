import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { SessionRecord } from '../core/session-record';
import { EventSessionInfo, SessionEvent } from './session-event';

/** A subscriber to session events. */
export type SessionEventListener = (event: SessionEvent) => void;

/** How an event describes a stored session: handle and hashed ID, never the token. */
export function describeSession(record: SessionRecord): EventSessionInfo {
  return {
    idHash: record.idHash.toString('hex'),
    handle: record.handle,
    userId: record.userId,
    createdAt: record.createdAt,
    authenticatedAt: record.authenticatedAt,
    lastSeenAt: record.lastSeenAt,
    obsoletedAt: record.obsoletedAt,
    ip: record.ip,
    userAgent: record.userAgent,
  };
}

/**
 * The stream of security events (R17): sign-in, regeneration, rotation, logout, expiry,
 * obsolete access, malformed and unknown IDs. Subscribe to send them to an audit log,
 * a logger or `@nestjs/event-emitter`. Listeners run synchronously; one that throws is
 * logged and does not affect the request or the other listeners.
 *
 * @example
 * @Injectable()
 * export class AuditLog implements OnModuleInit {
 *   constructor(private readonly events: SessionEvents, private readonly emitter: EventEmitter2) {}
 *   onModuleInit() {
 *     this.events.subscribe((event) => this.emitter.emit(event.type, event));
 *   }
 * }
 */
@Injectable()
export class SessionEvents implements OnModuleDestroy {
  private readonly logger = new Logger(SessionEvents.name);
  private readonly listeners = new Set<SessionEventListener>();

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: SessionEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: SessionEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error(`A session event listener failed on ${event.type}: ${String(error)}`);
      }
    }
  }

  onModuleDestroy(): void {
    this.listeners.clear();
  }
}
