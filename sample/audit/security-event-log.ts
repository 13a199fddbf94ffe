import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import {
  SessionEvents,
  type EventSessionInfo,
  type SessionEvent,
  type SessionEventType,
} from 'nest-session-security';
import { LogFields, logLine, SECURITY_LOG_CONTEXT } from './log-line';

/**
 * `warn`: an attack or a refusal someone should look at; `log`: what users did (sign-in,
 * sign-out, revocations); `debug`: the routine life of sessions, kept out of production logs.
 */
type Level = 'warn' | 'log' | 'debug';

type EventOf<T extends SessionEventType> = Extract<SessionEvent, { type: T }>;

interface EventLogEntry<T extends SessionEventType> {
  level: Level;
  /** What the line says beside the type, the client's address and its user agent. */
  fields: (event: EventOf<T>) => LogFields;
}

const session = (info: EventSessionInfo | null): LogFields => ({
  user: info?.userId,
  handle: info?.handle,
});

/**
 * How each event is logged. Keyed by every event type, so a new type in the package does not
 * compile here until someone has decided how loud it is.
 *
 * `session.unknown_id` and `session.malformed_cookie` are `debug`: a browser that comes back
 * after its session was deleted sends one, so alone they say little. Many of them from one
 * address are what matters, and the package reports that as `session.id_guessing` (`warn`).
 */
const EVENT_LOG: { [T in SessionEventType]: EventLogEntry<T> } = {
  'session.created': { level: 'debug', fields: (e) => session(e.session) },
  'session.authenticated': {
    level: 'log',
    fields: (e) => ({
      ...session(e.session),
      user: e.userId,
      via: e.remembered ? 'remember-me' : 'sign-in',
      previous: e.previous?.handle,
    }),
  },
  'session.regenerated': { level: 'debug', fields: (e) => session(e.session) },
  'session.rotated': {
    level: 'debug',
    fields: (e) => ({ ...session(e.session), reason: e.reason }),
  },
  'session.logged_out': { level: 'log', fields: (e) => session(e.session) },
  'session.revoked': {
    level: 'log',
    fields: (e) => ({
      user: e.userId,
      reason: e.reason,
      count: e.sessions.length,
      handles: e.sessions.map((s) => s.handle).join(','),
    }),
  },
  'session.logged_out_all': { level: 'log', fields: (e) => ({ user: e.userId, count: e.count }) },
  'session.expired': {
    level: 'debug',
    fields: (e) => ({ ...session(e.session), reason: e.reason }),
  },
  'session.obsolete_access': {
    level: 'warn',
    fields: (e) => ({
      user: e.userId,
      handle: e.obsolete.handle,
      response: e.response,
      revoked: e.revoked,
    }),
  },
  'session.obsolete_forwarded': {
    level: 'warn',
    fields: (e) => ({
      ...session(e.successor),
      obsolete: e.obsolete.handle,
      regeneration: e.regeneration,
      holderIp: e.successor.ip,
    }),
  },
  'session.obsolete_refused': {
    level: 'warn',
    fields: (e) => ({ user: e.userId, handle: e.obsolete.handle, regeneration: e.regeneration }),
  },
  'session.duplicate_cookie': { level: 'warn', fields: (e) => ({ count: e.count }) },
  'session.malformed_cookie': { level: 'debug', fields: () => ({}) },
  'session.unknown_id': { level: 'debug', fields: (e) => ({ count: e.idHashes.length }) },
  'csrf.rejected': {
    level: 'warn',
    fields: (e) => ({ ...session(e.session), reason: e.reason, method: e.method }),
  },
  'remember_me.theft': {
    level: 'warn',
    fields: (e) => ({
      user: e.userId,
      handle: e.handle,
      revoked: e.revokedSessions,
      lastUseIp: e.lastUse.ip,
    }),
  },
  'remember_me.restored_while_live': {
    level: 'warn',
    fields: (e) => ({ user: e.userId, handle: e.handle, live: e.sessions.length }),
  },
  'session.id_guessing': {
    level: 'warn',
    fields: (e) => ({ count: e.count, windowMs: e.windowMs, blocked: e.blocked }),
  },
};

/**
 * Writes every session event of the package to Nest's `Logger`, context `SecurityEvents`, as
 * one compact line: the type, the user's ID, the session's handle, what happened, the client's
 * address and user agent. Events carry handles and hashed IDs, never a token, and no line
 * adds one; the hashed IDs are left out too, the handle is what the session list shows.
 */
@Injectable()
export class SecurityEventLog implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(SECURITY_LOG_CONTEXT);
  private unsubscribe?: () => void;

  constructor(private readonly events: SessionEvents) {}

  onModuleInit(): void {
    this.unsubscribe = this.events.subscribe((event) => this.write(event));
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  private write(event: SessionEvent): void {
    // The table has an entry of the matching type for each event; TypeScript cannot follow
    // that through the union, hence the widening.
    const entry = EVENT_LOG[event.type] as EventLogEntry<SessionEventType> | undefined;
    // A package newer than this table: still logged, loudly, rather than dropped.
    const level = entry?.level ?? 'warn';
    const fields = entry?.fields(event as EventOf<SessionEventType>) ?? {};
    this.logger[level](
      logLine(event.type, { ...fields, ip: event.request.ip, ua: event.request.userAgent }),
    );
  }
}
